"""Load the person-lookup key, and refuse secrets that cannot open the data.

The lookup key (HMAC of a person's channel and address) must never change,
or returning people are not recognised; so it is kept in `lookup_keys`,
sealed under each data key id still in use, and survives a rotation. A
deployment from before key ids derived it from its secret, checked by the
`key_checks` row; that secret's key id becomes the first row. A start whose
configured secrets (FRONTDOOR_SECRET and FRONTDOOR_OLD_SECRETS) lack a key id
still in use stops with a clear message before anything is read or wiped.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from bot.settings import Settings
from bot.storage.crypto import Unreadable, Vault, bound
from bot.storage.db import Database
from bot.storage.models import KeyCheck, LookupKey

NAME = "service_secret"  # the check row of a deployment from before key ids


class SecretMismatch(RuntimeError):
    """The configured secrets are not the ones the stored data was sealed with."""


def open_vault(settings: Settings, db: Database) -> Vault:
    """The configured keys with the lookup key loaded; SecretMismatch on a wrong secret."""
    vault = Vault(settings.secret(), settings.old_secrets())
    verify_secret(db, vault)
    return vault


def verify_secret(db: Database, vault: Vault) -> bool:
    """True when the secrets open the data (or the database is new); raises
    SecretMismatch when they do not. With the database away it cannot tell and
    lets start-up go on: the lookup key is then loaded (and checked) on first use."""
    vault.loader = lambda: _load(db, vault)
    try:
        vault.install_lookup_key(_load(db, vault))
    except DBAPIError:
        return False
    return True


def _wrapping(kid: str) -> bytes:
    return bound("lookup_keys.sealed", kid)


def _load(db: Database, vault: Vault) -> bytes:
    with db.session() as session:
        key = lookup_key(session, vault, datetime.now(UTC))
        session.commit()
    return key


def lookup_key(session: Session, vault: Vault, now: datetime) -> bytes:
    """The lookup key, after making sure it is also kept under the current key id."""
    rows = list(session.execute(select(LookupKey)).scalars())
    in_use = [row.key_id for row in rows]
    missing = [kid for kid in in_use if kid not in vault.key_ids]
    if missing:
        raise SecretMismatch(_refusal(missing, vault))
    if rows:
        try:
            key = vault.open_bytes(rows[0].sealed, _wrapping(rows[0].key_id))
        except Unreadable:
            raise SecretMismatch(_refusal(in_use[:1], vault)) from None
    else:
        key, legacy = _first_key(session, vault)
        if legacy is not None:
            _keep(session, vault, key, legacy, now)
    if vault.current not in in_use:
        _keep(session, vault, key, vault.current, now)
    return key


def _first_key(session: Session, vault: Vault) -> tuple[bytes, str | None]:
    """A new database takes the current secret's lookup key; one from before key
    ids keeps the key its check row proves, and names the key id it came from."""
    stored = session.get(KeyCheck, NAME)
    if stored is None:
        return vault.legacy_lookup_keys()[vault.current], None
    for kid, key in vault.legacy_lookup_keys().items():
        check = hmac.new(key, f"key-check\x00{NAME}".encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(check, stored.check):
            return key, kid
    raise SecretMismatch(_refusal([], vault))


def _keep(session: Session, vault: Vault, key: bytes, kid: str, now: datetime) -> None:
    """Seal the lookup key under `kid` (once, even with two processes starting)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(LookupKey)
        .values(key_id=kid, sealed=vault.seal_bytes(key, _wrapping(kid), under=kid), created_at=now)
        .on_conflict_do_nothing(index_elements=["key_id"])
    )


def retire(session: Session, vault: Vault) -> list[str]:
    """Forget every key id but the current one (after a complete rotation)."""
    gone = [
        row for row in session.execute(select(LookupKey)).scalars() if row.key_id != vault.current
    ]
    for row in gone:
        session.delete(row)
    legacy = session.get(KeyCheck, NAME)
    if legacy is not None:
        session.delete(legacy)
    return [row.key_id for row in gone]


def _refusal(missing: list[str], vault: Vault) -> str:
    needed = f" (data is sealed under key id {', '.join(missing)})" if missing else ""
    return (
        "FRONTDOOR_SECRET is not the secret this database was sealed with"
        f"{needed}; configured key ids: {', '.join(vault.key_ids)}. Restore the previous "
        "secret, or keep it in FRONTDOOR_OLD_SECRETS and run `frontdoor keys rotate` "
        "(nothing was changed)."
    )
