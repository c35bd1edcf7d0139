"""WhatsApp's 24-hour window: a business may write freely to a person only
within 24 hours of that person's last message; later, only an approved
template may go.

The person's last message is their conversation's last activity (the engine
sets it on every turn, and only a turn sets it). Messages answered before the
engine (STOP, a flood, a picture alone) do not count, so the window we see is
never longer than WhatsApp's; a conversation deleted for idleness has no
window at all.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from bot.storage.db import utc
from bot.storage.models import Conversation

WINDOW = timedelta(hours=24)


def last_message_at(session: Session, person_key: str | None) -> datetime | None:
    """When the person last wrote to us on WhatsApp, as far as we know."""
    if not person_key:
        return None
    return session.execute(
        select(col(Conversation.last_activity)).where(col(Conversation.person_key) == person_key)
    ).scalar_one_or_none()


def inside_window(session: Session, person_key: str | None, now: datetime) -> bool:
    """True while a free-form message to this person may go."""
    last = last_message_at(session, person_key)
    return last is not None and utc(now) - utc(last) < WINDOW
