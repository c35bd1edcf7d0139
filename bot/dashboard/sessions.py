"""Server-side sessions and CSRF tokens for signed-in staff.

The cookie holds a random token; the database keeps only its SHA-256, so
logout, idle timeout and disabling an account really end a session. Each
session has its own CSRF token, checked on every POST (forms send it as a
field, htmx as the X-CSRF-Token header). Between the password and the second
factor a browser holds only a short-lived pending token, never a session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlmodel import Session, col

from bot.storage.db import id_of, rowcount, utc
from bot.storage.models import (
    LoginFailure,
    LoginThrottle,
    StaffPending,
    StaffSession,
    StaffUser,
)

COOKIE = "fd_session"
LOGIN_CSRF_COOKIE = "fd_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
PENDING_COOKIE = "fd_pending"
PENDING_MINUTES = 5  # a half-sign-in (password right, code still to come) lapses
PENDING_TRIES = 3  # wrong codes before the password must be given again


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def start(session: Session, user: StaffUser, now: datetime) -> str:
    token = new_token()
    session.add(
        StaffSession(
            token_hash=_hash(token),
            user_id=id_of(user),
            csrf_token=new_token(),
            created_at=now,
            last_seen=now,
        )
    )
    return token


@dataclass
class Found:
    """A live session and its user; `expired` says an idle session was just ended."""

    row: StaffSession | None
    user: StaffUser | None
    expired: bool = False


def lookup(session: Session, token: str | None, now: datetime, idle_minutes: int) -> Found:
    """The live session for a cookie, ending it here if it has been idle too long."""
    if not token:
        return Found(None, None)
    row = session.execute(
        select(StaffSession).where(col(StaffSession.token_hash) == _hash(token))
    ).scalar_one_or_none()
    if row is None or row.ended_at is not None:
        return Found(None, None)
    user = session.get(StaffUser, row.user_id)
    if user is None or not user.active:
        return Found(None, None)
    if now - utc(row.last_seen) > timedelta(minutes=idle_minutes):
        row.ended_at = now
        session.add(row)
        return Found(row, user, expired=True)
    return Found(row, user)


def touch(session: Session, row: StaffSession, now: datetime) -> None:
    """Count this request as activity (automatic polling does not)."""
    row.last_seen = now
    session.add(row)


def end(session: Session, row: StaffSession, now: datetime) -> None:
    row.ended_at = now
    session.add(row)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected, given)


def start_pending(session: Session, user: StaffUser, now: datetime) -> tuple[str, StaffPending]:
    """A half-signed-in browser: the password was right, the second factor is next."""
    token = new_token()
    row = StaffPending(token_hash=_hash(token), user_id=id_of(user), created_at=now)
    session.add(row)
    session.flush()
    return token, row


def find_pending(
    session: Session, token: str | None, now: datetime
) -> tuple[StaffPending, StaffUser] | None:
    """The live half-sign-in for a cookie; an expired or worn-out one is deleted."""
    if not token:
        return None
    row = session.execute(
        select(StaffPending).where(col(StaffPending.token_hash) == _hash(token))
    ).scalar_one_or_none()
    if row is None:
        return None
    user = session.get(StaffUser, row.user_id)
    late = now - utc(row.created_at) > timedelta(minutes=PENDING_MINUTES)
    if user is None or not user.active or late or row.tries >= PENDING_TRIES:
        session.delete(row)
        return None
    return row, user


def forget_stale(session: Session, now: datetime, idle_minutes: int, lockout_minutes: int) -> int:
    """Delete sessions that can no longer be used, half-sign-ins that lapsed and
    throttles whose window has passed (the worker runs this), so no table grows
    without end."""
    dead = rowcount(
        session.execute(
            delete(StaffSession).where(
                or_(
                    col(StaffSession.ended_at).is_not(None),
                    col(StaffSession.last_seen) < now - timedelta(minutes=idle_minutes),
                )
            )
        )
    )
    lapsed = rowcount(
        session.execute(
            delete(StaffPending).where(
                col(StaffPending.created_at) < now - timedelta(minutes=PENDING_MINUTES)
            )
        )
    )
    old = rowcount(
        session.execute(
            delete(LoginThrottle).where(
                col(LoginThrottle.window_start) < now - timedelta(minutes=lockout_minutes)
            )
        )
    )
    session.execute(
        delete(LoginFailure).where(col(LoginFailure.at) < now - timedelta(minutes=lockout_minutes))
    )
    return dead + lapsed + old
