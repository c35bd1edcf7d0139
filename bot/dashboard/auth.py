"""Staff accounts: made by the command line only, passwords hashed with argon2id.

Sign-in is throttled per account and address together (so a stranger guessing
a first name cannot keep its handler out from the office) and per address
across all accounts (so one place cannot try many names). Each attempt is
counted by one atomic upsert before anything is checked, so concurrent
guesses cannot slip past the limit; a refusal lapses after a short window and
says so plainly. The second factor (bot/dashboard/second_factor.py) follows a
right password.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from bot.dashboard import audit
from bot.settings import Settings
from bot.storage.db import rowcount, table_of
from bot.storage.models import LoginThrottle, StaffSession, StaffUser

ROLES = ("handler", "supervisor", "commissioner")
# A commissioner ranks below a handler: it reaches no request, number or audit
# page, only the figures (FIGURES_ROLES), and signing out.
RANK = {"commissioner": 0, "handler": 1, "supervisor": 2}
FIGURES_ROLES = ("supervisor", "commissioner")
MIN_PASSWORD = 10
EVERY_ACCOUNT = "*"  # the throttle row counting one address across all accounts
HASHER = PasswordHasher()  # argon2id with the library's current recommended costs
_DUMMY_HASH = HASHER.hash("not a real password, used to even out timing")


class AccountError(ValueError):
    """A clear reason an account could not be made or changed (shown on the CLI)."""


def normal_name(name: str) -> str:
    return name.strip().lower()


def add_user(session: Session, name: str, role: str, password: str, now: datetime) -> StaffUser:
    name = normal_name(name)
    if not name or len(name) > 60 or not all(ch.isalnum() or ch in "._-" for ch in name):
        raise AccountError("names use letters, digits, dot, dash or underscore (up to 60)")
    if role not in ROLES:
        raise AccountError("role must be handler, supervisor or commissioner")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if session.execute(select(col(StaffUser.id)).where(col(StaffUser.name) == name)).first():
        raise AccountError(f"there is already a user called {name}")
    user = StaffUser(
        name=name, role=role, password_hash=HASHER.hash(password), active=True, created_at=now
    )
    session.add(user)
    session.flush()
    return user


def end_sessions(session: Session, user: StaffUser, now: datetime) -> None:
    for row in session.execute(
        select(StaffSession).where(
            col(StaffSession.user_id) == user.id, col(StaffSession.ended_at).is_(None)
        )
    ).scalars():
        row.ended_at = now
        session.add(row)


def disable_user(session: Session, name: str, now: datetime) -> bool:
    """Disable an account and end its sessions at once."""
    user = session.execute(
        select(StaffUser).where(col(StaffUser.name) == normal_name(name))
    ).scalar_one_or_none()
    if user is None:
        return False
    user.active = False
    session.add(user)
    end_sessions(session, user, now)
    return True


@dataclass
class Listed:
    name: str
    role: str
    active: bool
    enrolled: bool
    throttled: bool


def listing(session: Session, settings: Settings, now: datetime) -> list[Listed]:
    """Every account, with whether it is enrolled and throttled from anywhere now."""
    since = now - timedelta(minutes=settings.login_lockout_minutes)
    throttled = set(
        session.execute(
            select(col(LoginThrottle.account)).where(
                col(LoginThrottle.window_start) >= since,
                col(LoginThrottle.attempts) > settings.login_max_failures,
            )
        ).scalars()
    )
    users = session.execute(select(StaffUser).order_by(col(StaffUser.name))).scalars()
    return [
        Listed(u.name, u.role, u.active, u.totp_enc is not None, u.name in throttled) for u in users
    ]


@dataclass
class LoginResult:
    user: StaffUser | None
    reason: str  # ok, bad, locked


def _upsert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _bump(session: Session, account: str, address: str, now: datetime, since: datetime) -> int:
    """Count one attempt for (account, address) in a single atomic statement and
    return the count in the current window (a stale window starts again at 1)."""
    table = table_of(LoginThrottle)
    stale = table.c.window_start < literal(since, table.c.window_start.type)
    fresh = literal(now, table.c.window_start.type)
    statement = (
        _upsert(session)(table)
        .values(account=account, address=address, attempts=1, window_start=now)
        .on_conflict_do_update(
            index_elements=["account", "address"],
            set_={
                "attempts": case((stale, 1), else_=table.c.attempts + 1),
                "window_start": case((stale, fresh), else_=table.c.window_start),
            },
        )
        .returning(table.c.attempts)
    )
    return session.execute(statement).scalar_one()


def reserve(session: Session, settings: Settings, name: str, address: str, now: datetime) -> bool:
    """Count an attempt before checking anything, so concurrent guesses cannot all
    be checked: False once this account from this address, or this address across
    all accounts, has used its attempts for the window. Nobody else is kept out."""
    since = now - timedelta(minutes=settings.login_lockout_minutes)
    pair = _bump(session, name, address, now, since)
    anywhere = _bump(session, EVERY_ACCOUNT, address, now, since)
    return pair <= settings.login_max_failures and (
        anywhere <= settings.login_max_failures_per_address
    )


def succeeded(session: Session, name: str, address: str) -> None:
    """A whole sign-in succeeded: this pair starts again, and the address's count
    gives back every try of this pair (a person mistyping, then getting in), so an
    office behind one address is never refused for signing in often."""
    table = table_of(LoginThrottle)
    used = session.execute(
        delete(table)
        .where(table.c.account == name, table.c.address == address)
        .returning(table.c.attempts)
    ).scalar_one_or_none()
    if used:
        left = table.c.attempts - used
        session.execute(
            update(table)
            .where(table.c.account == EVERY_ACCOUNT, table.c.address == address)
            .values(attempts=case((left < 0, 0), else_=left))
        )


def unlock(session: Session, name: str) -> int:
    """Forget every throttle on an account (`frontdoor users unlock`)."""
    table = table_of(LoginThrottle)
    return rowcount(session.execute(delete(table).where(table.c.account == normal_name(name))))


def check_login(
    session: Session, settings: Settings, name: str, password: str, address: str, now: datetime
) -> LoginResult:
    """Check a password. The attempt is counted and committed first (a short
    transaction: the counter row is not held while argon2 works); failures and
    audit events are then left in the caller's transaction."""
    name = normal_name(name)[:60]
    address = address[:64]
    allowed_now = reserve(session, settings, name, address, now)
    session.commit()
    if not allowed_now:
        audit.record(session, "login_locked", now, user_name=name or "-")
        return LoginResult(None, "locked")
    user = session.execute(
        select(StaffUser).where(col(StaffUser.name) == name)
    ).scalar_one_or_none()
    good = False
    try:
        good = HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        good = False
    if not good or user is None or not user.active:
        audit.record(session, "login_failed", now, user_name=name or "-")
        return LoginResult(None, "bad")
    # The count starts again only when the whole sign-in succeeds (signin.py), so a
    # known password does not buy fresh guesses at the code.
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
        session.add(user)
    return LoginResult(user, "ok")


def find_user(session: Session, name: str) -> StaffUser | None:
    return session.execute(
        select(StaffUser).where(col(StaffUser.name) == normal_name(name))
    ).scalar_one_or_none()


def set_password(session: Session, user: StaffUser, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    user.password_hash = HASHER.hash(password)
    session.add(user)


def allowed(role: str, needed: str) -> bool:
    """`needed` is a role (at least that rank), "figures" (supervisors and
    commissioners) or "signed_in" (any account, e.g. to sign out)."""
    if needed == "figures":
        return role in FIGURES_ROLES
    if needed == "signed_in":
        return role in ROLES
    return role in ROLES and RANK[role] >= RANK[needed] and RANK[needed] > 0
