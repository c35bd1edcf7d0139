"""The quick-exit wipe on Telegram: remember every message id of a private chat
for 48 hours, and on EXIT delete them all from the person's phone.

The Bot API lets a bot delete both its own and the person's messages in a
private chat for 48 hours, at most 100 ids per deleteMessages call. The ids
are kept under the person's keyed hash (never the chat id) in TelegramMessage;
the worker forgets rows older than MESSAGE_RETENTION_HOURS.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col
from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.storage.db import Database
from bot.storage.models import TelegramMessage

log = logging.getLogger(__name__)

BATCH = 100  # the Bot API's limit for one deleteMessages call


def remember(db: Database, person_key: str, message_ids: Iterable[int], now: datetime) -> int:
    """Keep message ids for the wipe; returns how many were new (a repeat adds none)."""
    rows = [
        {"person_key": person_key, "message_id": int(m), "sent_at": now} for m in set(message_ids)
    ]
    if not rows:
        return 0
    insert = pg_insert if db.is_postgres else sqlite_insert
    with db.session() as session:
        result = session.execute(
            insert(TelegramMessage)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["person_key", "message_id"])
            .returning(col(TelegramMessage.id))
        )
        added = len(result.all())
        session.commit()
    return added


def remembered(db: Database, person_key: str) -> list[int]:
    with db.session() as session:
        ids = session.execute(
            select(col(TelegramMessage.message_id)).where(
                col(TelegramMessage.person_key) == person_key
            )
        ).scalars()
        found = sorted(set(ids))
        session.commit()
    return found


def forget(db: Database, person_key: str, message_ids: Iterable[int]) -> None:
    ids = list(message_ids)
    with db.session() as session:
        for start in range(0, len(ids), 500):
            session.execute(
                delete(TelegramMessage)
                .where(col(TelegramMessage.person_key) == person_key)
                .where(col(TelegramMessage.message_id).in_(ids[start : start + 500]))
            )
        session.commit()


def batches(ids: list[int], size: int = BATCH) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


async def wipe(
    bot: Bot, db: Database, chat_id: int, person_key: str, current: Iterable[int] = ()
) -> int:
    """Delete every remembered message of this chat (and the current one) from the
    person's phone; returns how many ids were asked to be deleted.

    Ids Telegram refuses (older than 48 hours, already gone) are forgotten; ids
    of a batch that failed for another reason (no connection) are kept, so the
    next EXIT tries them again.
    """
    stored = await asyncio.to_thread(remembered, db, person_key)
    ids = sorted(set(stored) | {int(m) for m in current})
    done: list[int] = []
    for batch in batches(ids):
        try:
            await bot.delete_messages(chat_id, batch)
        except BadRequest as error:
            log.warning("telegram wipe: a batch was refused (%s)", type(error).__name__)
        except TelegramError as error:
            kind = type(error).__name__
            log.error("telegram wipe: a batch failed (%s); kept for the next EXIT", kind)
            continue
        done.extend(batch)
    await asyncio.to_thread(forget, db, person_key, done)
    return len(ids)
