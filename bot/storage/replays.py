"""Provider message ids already handled, as keyed hashes with no content.

The answer cache (HandledMessage, with sealed replies) lives 48 hours, and
less for a conversation deleted sooner. This record lives 30 days
(MESSAGE_ID_RETENTION_DAYS), so a captured, validly signed Twilio request
replayed after its answer is gone is recognised and runs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, insert, select
from sqlmodel import Session, col

from bot.storage.crypto import Vault
from bot.storage.db import Database, core, insert_or_ignore, rowcount, table_of, utc
from bot.storage.models import HandledMessage, SeenMessageId

KIND = "seen-message-id"  # keeps these hashes apart from person keys

_SEEN = table_of(SeenMessageId)
_HANDLED = table_of(HandledMessage)
_KEEP_ANSWER = insert(_HANDLED)
_SEEN_AT = select(_SEEN.c.seen_at).where(_SEEN.c.key == bindparam("key"))
_ANSWER_KEPT = select(
    exists()
    .where(_HANDLED.c.channel == bindparam("channel"))
    .where(_HANDLED.c.provider_id == bindparam("provider_id"))
)


def message_key(vault: Vault, channel: str, provider_id: str) -> str:
    """The keyed hash an id is remembered by."""
    return vault.person_key(KIND, f"{channel}:{provider_id}")


@dataclass(frozen=True, slots=True)
class Seen:
    """An id handled before: when, and whether its engine answer is still cached."""

    at: datetime
    cached: bool


def seen_before(db: Database, vault: Vault, channel: str, provider_id: str) -> Seen | None:
    """None for an id never handled (or handled over 30 days ago)."""
    with db.session() as session:
        found = seen_in(session, vault, channel, provider_id)
        session.commit()
    return found


def seen_in(
    session: Session, vault: Vault, channel: str, provider_id: str, key: str | None = None
) -> Seen | None:
    """`seen_before` inside a transaction already open (a channel's turn hook);
    `key`: the id's keyed hash when the caller has it already."""
    key = key or message_key(vault, channel, provider_id)
    connection = core(session)
    seen = connection.execute(_SEEN_AT, {"key": key}).scalar_one_or_none()
    cached = (
        seen is not None
        and connection.execute(
            _ANSWER_KEPT, {"channel": channel, "provider_id": provider_id}
        ).scalar_one()
    )
    return None if seen is None else Seen(utc(seen), bool(cached))


def record_handled(session: Session, **values: Any) -> None:
    """Keep a turn's sealed answer (the answer cache), in the turn's transaction.
    A second turn for the same provider id fails here with IntegrityError."""
    core(session).execute(_KEEP_ANSWER, values)


def record_seen(db: Database, vault: Vault, channel: str, provider_id: str, now: datetime) -> None:
    """Remember that an id was handled (once; a retry changes nothing)."""
    with db.session() as session:
        record_seen_in(session, db.is_postgres, vault, channel, provider_id, now)
        session.commit()


def record_seen_in(
    session: Session,
    is_postgres: bool,
    vault: Vault,
    channel: str,
    provider_id: str,
    now: datetime,
    key: str | None = None,
) -> None:
    """`record_seen` inside a transaction already open (a channel's turn hook)."""
    core(session).execute(
        insert_or_ignore(SeenMessageId, "key", is_postgres),
        {"key": key or message_key(vault, channel, provider_id), "seen_at": now},
    )


def forget_old(session: Session, now: datetime, days: int) -> int:
    """Delete records older than `days`."""
    cutoff = now - timedelta(days=days)
    result = session.execute(delete(SeenMessageId).where(col(SeenMessageId.seen_at) < cutoff))
    return int(rowcount(result) or 0)
