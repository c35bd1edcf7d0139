"""Refuse to run on a service secret other than the one the data was sealed with.

Changing FRONTDOOR_SECRET without re-sealing makes every person key and
sealed row unreadable: returning people are not recognised and dashboard
pages fail. The first start stores a keyed hash of a fixed label; every later
start compares it and stops with a clear message on a mismatch. The check
value reveals nothing about the secret.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError

from bot.storage.crypto import Vault
from bot.storage.db import Database
from bot.storage.models import KeyCheck

NAME = "service_secret"


class SecretMismatch(RuntimeError):
    """The configured secret is not the one the stored data was sealed with."""


def verify_secret(db: Database, vault: Vault) -> bool:
    """True when the secret matches (or is the first); raises SecretMismatch when
    it does not. With the database away it cannot tell and lets start-up go on
    (every message is then answered from memory until it is back)."""
    check = vault.person_key("key-check", NAME)
    try:
        with db.session() as session:
            stored = session.get(KeyCheck, NAME)
            if stored is None:
                session.add(KeyCheck(name=NAME, check=check, created_at=datetime.now(UTC)))
                session.commit()
                return True
            session.commit()
    except DBAPIError:
        return False
    if stored.check != check:
        raise SecretMismatch(
            "FRONTDOOR_SECRET is not the secret this database was sealed with: "
            "restore the previous secret (nothing was changed)."
        )
    return True
