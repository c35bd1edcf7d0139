"""Keyed hashing and encryption, with separate keys and key ids (docs/keys.md).

A person is found by HMAC(channel, address) under a long-lived lookup key, so
their number is never a lookup key and a returning person is still found
after the data key changes. Personal data is sealed with AES-GCM under a data
key derived from a service secret; each sealed value starts with a version
byte and the id of the key that sealed it, and is bound to its table, column
and row (associated data), so a value copied into another row does not open.
Values sealed before key ids existed (nonce + ciphertext) still open.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
HEADER = 5  # version byte + 4-byte key id
NONCE = 12
LEGACY = "legacy"  # what `key_id_of` says of a value sealed before key ids


class Unreadable(ValueError):
    """No configured key opens this value (corrupt, another row's, or another key's)."""


def _derive(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret)


def key_id(secret: bytes) -> str:
    """A short public name for a secret (8 hex digits); it reveals nothing of it."""
    return _derive(secret, b"frontdoor key id")[:4].hex()


def legacy_lookup_key(secret: bytes) -> bytes:
    """The person-lookup key a deployment derived from its first secret."""
    return _derive(secret, b"frontdoor person key")


def bound(column: str, *identity: object) -> bytes:
    """Associated data naming a sealed column ("table.column") and its row."""
    return "\x00".join([column, *(str(part) for part in identity)]).encode()


def key_id_of(blob: bytes) -> str:
    """The key id a value was sealed under, or LEGACY for the old format."""
    if len(blob) > HEADER + NONCE and blob[:1] == VERSION:
        return blob[1:HEADER].hex()
    return LEGACY


class Vault:
    """The configured keys: the current secret seals, every listed one opens.

    The lookup key is not derived here: it lives in the database wrapped under
    each data key in use (bot/storage/keys.py) and is installed, or loaded on
    first use through `loader`, before any person key is made.
    """

    def __init__(self, secret: bytes, old_secrets: Sequence[bytes] = ()) -> None:
        self.current = key_id(secret)
        self._keys: dict[str, AESGCM] = {}
        self._secrets: dict[str, bytes] = {}
        for each in (secret, *old_secrets):
            self._keys.setdefault(key_id(each), AESGCM(_derive(each, b"frontdoor data key")))
            self._secrets.setdefault(key_id(each), each)
        self._lookup: bytes | None = None
        self.loader: Callable[[], bytes] | None = None

    @property
    def key_ids(self) -> list[str]:
        """Every configured key id, the current one first."""
        return list(self._keys)

    def legacy_lookup_keys(self) -> dict[str, bytes]:
        """Per key id, the lookup key an older deployment derived from that secret."""
        return {kid: legacy_lookup_key(secret) for kid, secret in self._secrets.items()}

    def install_lookup_key(self, key: bytes) -> None:
        self._lookup = key

    def person_key(self, channel: str, address: str) -> str:
        if self._lookup is None:
            if self.loader is None:
                raise RuntimeError("the person-lookup key is not loaded (keys.verify_secret)")
            self._lookup = self.loader()
        message = f"{channel}\x00{address}".encode()
        return hmac.new(self._lookup, message, hashlib.sha256).hexdigest()

    def seal(self, data: Any, context: bytes) -> bytes:
        """JSON `data` sealed under the current key, bound to `context` (see `bound`)."""
        plain = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return self.seal_bytes(plain, context)

    def open(self, blob: bytes, context: bytes) -> Any:
        return json.loads(self.open_bytes(blob, context))

    def seal_bytes(self, plain: bytes, context: bytes, under: str | None = None) -> bytes:
        """Sealed under the current key, or under the configured key id `under`."""
        kid = under or self.current
        header = VERSION + bytes.fromhex(kid)
        nonce = os.urandom(NONCE)
        return header + nonce + self._keys[kid].encrypt(nonce, plain, header + context)

    def open_bytes(self, blob: bytes, context: bytes) -> bytes:
        kid = key_id_of(blob)
        if kid in self._keys:
            nonce, body = blob[HEADER : HEADER + NONCE], blob[HEADER + NONCE :]
            try:
                return self._keys[kid].decrypt(nonce, body, blob[:HEADER] + context)
            except InvalidTag:
                raise Unreadable("sealed for another row, or corrupt") from None
        # The format before key ids: nonce + ciphertext, no associated data,
        # under one of the configured secrets (`frontdoor keys rotate` re-seals it).
        for aead in self._keys.values():
            try:
                return aead.decrypt(blob[:NONCE], blob[NONCE:], None)
            except (InvalidTag, ValueError):
                continue
        raise Unreadable("no configured key opens this value")
