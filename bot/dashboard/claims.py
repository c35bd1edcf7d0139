"""Claiming a request: one handler at a time, decided by the database.

A claim is a single conditional UPDATE (... WHERE status = 'open'); whoever's
update changes the row has it, and the other sees a rowcount of 0. On
PostgreSQL the second update waits for the first to commit and then finds
the row no longer open; on SQLite every transaction is a write transaction.
A claim nobody has acted on for CLAIM_RELEASE_MINUTES returns to the queue
(on every queue read and from the worker).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session, col

from bot.dashboard import audit
from bot.dashboard import queue as q
from bot.dashboard import windows as win
from bot.storage.db import id_of, rowcount
from bot.storage.models import CallbackRequest, StaffUser


def claim(session: Session, request_id: int, user: StaffUser, now: datetime) -> bool:
    """Atomically take an open request; True only for the one handler who got it."""
    result = session.execute(
        update(CallbackRequest)
        .where(col(CallbackRequest.id) == request_id, col(CallbackRequest.status) == "open")
        .values(
            status="claimed",
            claimed_by=user.id,
            claimed_at=now,
            claim_active_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    reference = session.execute(
        select(col(CallbackRequest.reference)).where(col(CallbackRequest.id) == request_id)
    ).scalar_one_or_none()
    got = rowcount(result) == 1
    audit.record(session, "claim" if got else "claim_lost", now, user, reference=reference)
    return got


def take_next(
    session: Session,
    user: StaffUser,
    hours: list[win.Window],
    now: datetime,
    urgent_priority: int,
    filters: q.Filters | None = None,
) -> str | None:
    """Claim the most urgent request that is safe to call now; its reference, or None."""
    for row in q.open_rows(session, hours, now, urgent_priority, filters):
        if row.callable_now and claim(session, id_of(row.request), user, now):
            return row.request.reference
    return None


def release(session: Session, request: CallbackRequest, user: StaffUser, now: datetime) -> bool:
    """Hand a claimed request back to the queue (its holder, or a supervisor)."""
    result = session.execute(
        update(CallbackRequest)
        .where(col(CallbackRequest.id) == request.id, col(CallbackRequest.status) == "claimed")
        .values(status="open", claimed_by=None, claimed_at=None, claim_active_at=None)
        .execution_options(synchronize_session=False)
    )
    if rowcount(result) == 1:
        audit.record(session, "release", now, user, reference=request.reference)
        return True
    return False


def touch(session: Session, request: CallbackRequest, now: datetime) -> None:
    """The holder acted on the request, so the claim is not idle."""
    session.execute(
        update(CallbackRequest)
        .where(col(CallbackRequest.id) == request.id)
        .values(claim_active_at=now)
        .execution_options(synchronize_session=False)
    )


def release_idle(session: Session, now: datetime, minutes: int) -> int:
    """Return claims untouched for `minutes` to the queue; how many were released."""
    cutoff = now - timedelta(minutes=minutes)
    stale = list(
        session.execute(
            select(col(CallbackRequest.id), col(CallbackRequest.reference)).where(
                col(CallbackRequest.status) == "claimed",
                col(CallbackRequest.claim_active_at) < cutoff,
            )
        )
    )
    released = 0
    for request_id, reference in stale:
        result = session.execute(
            update(CallbackRequest)
            .where(
                CallbackRequest.id == request_id,
                col(CallbackRequest.status) == "claimed",
                col(CallbackRequest.claim_active_at) < cutoff,
            )
            .values(status="open", claimed_by=None, claimed_at=None, claim_active_at=None)
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            released += 1
            audit.record(session, "release_idle", now, reference=reference)
    return released
