"""Keyed hashing and encryption, both derived from the one service secret.

A person is found by HMAC(channel, address), so their number is never a
lookup key. Personal data is sealed with AES-GCM; the key is derived with
HKDF so the hashing and encryption keys are never the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def _derive(secret: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(secret)


class Vault:
    def __init__(self, secret: bytes) -> None:
        self._hash_key = _derive(secret, b"frontdoor person key")
        self._aead = AESGCM(_derive(secret, b"frontdoor data key"))

    def person_key(self, channel: str, address: str) -> str:
        message = f"{channel}\x00{address}".encode()
        return hmac.new(self._hash_key, message, hashlib.sha256).hexdigest()

    def seal(self, data: Any) -> bytes:
        nonce = os.urandom(12)
        plain = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        return nonce + self._aead.encrypt(nonce, plain, None)

    def open(self, blob: bytes) -> Any:
        return json.loads(self._aead.decrypt(blob[:12], blob[12:], None))
