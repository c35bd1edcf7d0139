"""Per-sender message counts, so one number or chat cannot flood the engine.

Each person (by keyed hash, never the number or chat id) has one row: the
start of the current window and how many messages arrived in it. Past the
cap a sender is told once to slow down (again at most once an hour) and
their further messages in the window are not run through the engine. The
worker deletes rows of senders who have gone quiet (bot/worker.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from bot.storage.db import Database, rowcount, utc
from bot.storage.models import SenderCount

Admission = Literal["ok", "notice", "quiet"]
NOTICE_EVERY = timedelta(hours=1)  # "you're sending a lot" at most this often
FORGET_AFTER = timedelta(hours=1)  # a sender quiet this long loses their row


def admit(db: Database, person_key: str, now: datetime, cap: int, window: timedelta) -> Admission:
    """Count one message. "ok": under the cap; "notice": the first over it (tell
    them once); "quiet": over it and already told."""
    with db.session() as session:
        verdict = admit_in(session, db.is_postgres, person_key, now, cap, window)
        session.commit()
    return verdict


def admit_in(
    session: Session, is_postgres: bool, person_key: str, now: datetime, cap: int, window: timedelta
) -> Admission:
    """`admit` inside a transaction already open (a channel's turn hook)."""
    insert = pg_insert if is_postgres else sqlite_insert
    session.execute(
        insert(SenderCount)
        .values(person_key=person_key, window_start=now, count=0)
        .on_conflict_do_nothing(index_elements=["person_key"])
    )
    query = select(SenderCount).where(col(SenderCount.person_key) == person_key)
    if is_postgres:
        query = query.with_for_update()
    row = session.execute(query).scalar_one()
    if now - utc(row.window_start) >= window:
        row.window_start, row.count = now, 0
    row.count += 1
    verdict: Admission = "ok"
    if row.count > cap:
        told = row.noticed_at is not None and now - utc(row.noticed_at) < NOTICE_EVERY
        verdict = "quiet" if told else "notice"
        if verdict == "notice":
            row.noticed_at = now
    session.add(row)
    return verdict


def forget_quiet(session: Session, now: datetime, window: timedelta) -> int:
    """Delete the rows of senders quiet for an hour past their window."""
    cutoff = now - FORGET_AFTER - window
    result = session.execute(delete(SenderCount).where(col(SenderCount.window_start) < cutoff))
    return int(rowcount(result) or 0)
