"""Replies a channel sends itself (Telegram), delivered at least once.

The engine stores each turn's replies with the message id before anything is
sent (bot/engine.py). The channel then counts how many went out. Whatever is
still unsent (a Bot API failure, a crash mid-send) is finished by the same
update delivered again or, after a short settling time, by the worker. A
reply may go twice after a crash; it is never lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlmodel import col

from bot.storage import binding
from bot.storage.crypto import Vault
from bot.storage.db import Database
from bot.storage.models import HandledMessage
from bot.types import Reply

log = logging.getLogger(__name__)

SETTLE = timedelta(seconds=30)  # leave a turn to its webhook this long
GIVE_UP = timedelta(hours=6)  # an answer this old would no longer help
CLAIM_FOR = timedelta(minutes=2)  # a sender that took a turn and died frees it after this


@dataclass(frozen=True)
class Unfinished:
    """A turn with replies still to send, and where to send them."""

    provider_id: str
    address: str
    replies: list[Reply]
    delivered: int


def mark_delivered(db: Database, channel: str, provider_id: str, count: int) -> None:
    """`count` replies of the turn are sent; the count never goes back."""
    with db.session() as session:
        session.execute(
            update(HandledMessage)
            .where(col(HandledMessage.channel) == channel)
            .where(col(HandledMessage.provider_id) == provider_id)
            .where(col(HandledMessage.delivered) < count)
            .values(delivered=count)
        )
        session.commit()


def claim_unfinished(
    db: Database, vault: Vault, channel: str, now: datetime, limit: int = 20
) -> list[Unfinished]:
    """Take turns whose replies are not all sent, old enough that no webhook is
    still sending them and young enough to matter; each is claimed for a while
    so two workers do not both finish it."""
    with db.session() as session:
        query = (
            select(HandledMessage)
            .where(col(HandledMessage.channel) == channel)
            .where(col(HandledMessage.address_enc).is_not(None))
            .where(col(HandledMessage.delivered) < col(HandledMessage.reply_count))
            .where(col(HandledMessage.handled_at) < now - SETTLE)
            .where(col(HandledMessage.handled_at) > now - GIVE_UP)
            .where(
                or_(
                    col(HandledMessage.delivery_claimed_at).is_(None),
                    col(HandledMessage.delivery_claimed_at) < now - CLAIM_FOR,
                )
            )
            .order_by(col(HandledMessage.handled_at))
            .limit(limit)
        )
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        taken: list[Unfinished] = []
        for row in session.execute(query).scalars():
            row.delivery_claimed_at = now
            session.add(row)
            try:
                where = (row.channel, row.provider_id)
                address = str(vault.open(row.address_enc, binding.handled_address(*where)))
                sealed = vault.open(row.replies_enc, binding.handled_replies(*where))
                replies = [Reply.from_json(r) for r in sealed]
            except Exception as fault:  # noqa: BLE001 - one unreadable row never holds up the rest
                log.error("unsent replies unreadable, given up: %s", type(fault).__name__)
                row.delivered = row.reply_count
                continue
            taken.append(Unfinished(row.provider_id, address, replies, row.delivered))
        session.commit()
    return taken


def hold(db: Database, channel: str, provider_id: str, now: datetime) -> None:
    """A sender still working on a turn (bot/channels/telegram/background.py) renews its
    claim, so the worker leaves the turn alone until the claim runs out."""
    with db.session() as session:
        session.execute(
            update(HandledMessage)
            .where(col(HandledMessage.channel) == channel)
            .where(col(HandledMessage.provider_id) == provider_id)
            .values(delivery_claimed_at=now)
        )
        session.commit()
