"""Staff accounts: made by the command line only, passwords hashed with argon2id.

Sign-in is throttled twice: per account (so one person's password cannot be
guessed slowly from many places) and per client address (so one place cannot
try many accounts). Either lockout refuses even a correct password until it
lapses, and says so plainly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlmodel import Session

from bot.dashboard import audit
from bot.settings import Settings
from bot.storage.models import LoginFailure, StaffSession, StaffUser

ROLES = ("handler", "supervisor")
RANK = {"handler": 1, "supervisor": 2}
MIN_PASSWORD = 10
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
        raise AccountError("role must be handler or supervisor")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if session.execute(select(StaffUser.id).where(StaffUser.name == name)).first():
        raise AccountError(f"there is already a user called {name}")
    user = StaffUser(
        name=name, role=role, password_hash=HASHER.hash(password), active=True, created_at=now
    )
    session.add(user)
    session.flush()
    return user


def disable_user(session: Session, name: str, now: datetime) -> bool:
    """Disable an account and end its sessions at once."""
    user = session.execute(
        select(StaffUser).where(StaffUser.name == normal_name(name))
    ).scalar_one_or_none()
    if user is None:
        return False
    user.active = False
    session.add(user)
    for row in session.execute(
        select(StaffSession).where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
    ).scalars():
        row.ended_at = now
        session.add(row)
    return True


@dataclass
class LoginResult:
    user: StaffUser | None
    reason: str  # ok, bad, locked


def _failures(session: Session, column: object, value: str, since: datetime) -> int:
    return session.execute(
        select(func.count(LoginFailure.id)).where(column == value, LoginFailure.at > since)
    ).scalar_one()


def locked(session: Session, settings: Settings, name: str, address: str, now: datetime) -> bool:
    since = now - timedelta(minutes=settings.login_lockout_minutes)
    return (
        _failures(session, LoginFailure.account, name, since) >= settings.login_max_failures
        or _failures(session, LoginFailure.address, address, since)
        >= settings.login_max_failures_per_address
    )


def check_login(
    session: Session, settings: Settings, name: str, password: str, address: str, now: datetime
) -> LoginResult:
    """Check a sign-in, recording failures and audit events in the caller's transaction."""
    name = normal_name(name)[:60]
    address = address[:64]
    if locked(session, settings, name, address, now):
        audit.record(session, "login_locked", now, user_name=name or "-")
        return LoginResult(None, "locked")
    user = session.execute(select(StaffUser).where(StaffUser.name == name)).scalar_one_or_none()
    good = False
    try:
        good = HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        good = False
    if not good or user is None or not user.active:
        session.add(LoginFailure(account=name, address=address, at=now))
        audit.record(session, "login_failed", now, user_name=name or "-")
        return LoginResult(None, "bad")
    session.execute(delete(LoginFailure).where(LoginFailure.account == name))
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
        session.add(user)
    audit.record(session, "login", now, user)
    return LoginResult(user, "ok")


def allowed(role: str, needed: str) -> bool:
    return RANK.get(role, 0) >= RANK[needed]
