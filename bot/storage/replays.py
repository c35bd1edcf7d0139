"""Provider message ids already handled, as keyed hashes with no content.

The answer cache (HandledMessage, with sealed replies) lives 48 hours, and
less for a conversation deleted sooner. This record lives 30 days
(MESSAGE_ID_RETENTION_DAYS), so a captured, validly signed Twilio request
replayed after its answer is gone is recognised and runs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from bot.storage.crypto import Vault
from bot.storage.db import Database, utc
from bot.storage.models import HandledMessage, SeenMessageId

KIND = "seen-message-id"  # keeps these hashes apart from person keys


def _key(vault: Vault, channel: str, provider_id: str) -> str:
    return vault.person_key(KIND, f"{channel}:{provider_id}")


@dataclass(frozen=True, slots=True)
class Seen:
    """An id handled before: when, and whether its engine answer is still cached."""

    at: datetime
    cached: bool


def seen_before(db: Database, vault: Vault, channel: str, provider_id: str) -> Seen | None:
    """None for an id never handled (or handled over 30 days ago)."""
    with db.session() as session:
        seen = session.execute(
            select(col(SeenMessageId.seen_at)).where(
                col(SeenMessageId.key) == _key(vault, channel, provider_id)
            )
        ).scalar_one_or_none()
        cached = (
            seen is not None
            and session.execute(
                select(
                    exists()
                    .where(col(HandledMessage.channel) == channel)
                    .where(col(HandledMessage.provider_id) == provider_id)
                )
            ).scalar_one()
        )
        session.commit()
    return None if seen is None else Seen(utc(seen), bool(cached))


def record_seen(db: Database, vault: Vault, channel: str, provider_id: str, now: datetime) -> None:
    """Remember that an id was handled (once; a retry changes nothing)."""
    insert = pg_insert if db.is_postgres else sqlite_insert
    with db.session() as session:
        session.execute(
            insert(SeenMessageId)
            .values(key=_key(vault, channel, provider_id), seen_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        session.commit()


def forget_old(session: Session, now: datetime, days: int) -> int:
    """Delete records older than `days`."""
    cutoff = now - timedelta(days=days)
    result = session.execute(delete(SeenMessageId).where(col(SeenMessageId.seen_at) < cutoff))
    return int(result.rowcount or 0)
