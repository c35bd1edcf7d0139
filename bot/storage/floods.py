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

from sqlalchemy import bindparam, delete, select, update
from sqlmodel import Session, col

from bot.storage.db import Database, core, insert_or_ignore, rowcount, table_of, utc
from bot.storage.models import SenderCount

Admission = Literal["ok", "notice", "quiet"]
NOTICE_EVERY = timedelta(hours=1)  # "you're sending a lot" at most this often
FORGET_AFTER = timedelta(hours=1)  # a sender quiet this long loses their row

_COUNTS = table_of(SenderCount)
_READ = select(_COUNTS.c.window_start, _COUNTS.c.count, _COUNTS.c.noticed_at).where(
    _COUNTS.c.person_key == bindparam("person")
)
_READ_LOCKED = _READ.with_for_update()
_WRITE = (
    update(_COUNTS)
    .where(_COUNTS.c.person_key == bindparam("person"))
    .values(
        window_start=bindparam("start"),
        count=bindparam("count_now"),
        noticed_at=bindparam("noticed"),
    )
)


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
    connection = core(session)
    connection.execute(
        insert_or_ignore(SenderCount, "person_key", is_postgres),
        {"person_key": person_key, "window_start": now, "count": 0},
    )
    read = _READ_LOCKED if is_postgres else _READ
    start, count, noticed = connection.execute(read, {"person": person_key}).one()
    if now - utc(start) >= window:
        start, count = now, 0
    count += 1
    verdict: Admission = "ok"
    if count > cap:
        told = noticed is not None and now - utc(noticed) < NOTICE_EVERY
        verdict = "quiet" if told else "notice"
        if verdict == "notice":
            noticed = now
    connection.execute(
        _WRITE, {"person": person_key, "start": start, "count_now": count, "noticed": noticed}
    )
    return verdict


def forget_quiet(session: Session, now: datetime, window: timedelta) -> int:
    """Delete the rows of senders quiet for an hour past their window."""
    cutoff = now - FORGET_AFTER - window
    result = session.execute(delete(SenderCount).where(col(SenderCount.window_start) < cutoff))
    return int(rowcount(result) or 0)
