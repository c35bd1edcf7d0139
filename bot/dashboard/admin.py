"""`frontdoor users ...`: the only way staff accounts are made, stopped and mended.

`add` enrols the second factor at once and prints its key, a QR code and ten
recovery codes; `reset-2fa`, `unlock`, `reset-password`, `enable` and `list`
are for administrators, and each change is audited.

The password is asked twice at a terminal (never echoed), or read from the
first line of stdin when stdin is not a terminal, so scripts can make
accounts without the password appearing in the process list.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from typing import TextIO

from bot.dashboard import audit, auth, second_factor
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.keys import open_vault


def read_password(stdin: TextIO) -> str | None:
    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        return None
    return first


def _print_enrolment(name: str, enrolment: second_factor.Enrolment) -> None:
    print(f"Second factor for {name}: scan this with an authenticator app,")
    print(second_factor.qr_terminal(enrolment.uri))
    print(f"or type the set-up key: {enrolment.secret}")
    print("One-time recovery codes (each works once instead of a code; keep them safe):")
    for code in enrolment.codes:
        print(f"  {code}")


def add(settings: Settings, name: str, role: str, stdin: TextIO | None = None) -> int:
    """Make an account and enrol its second factor at once."""
    password = read_password(stdin or sys.stdin)
    if password is None:
        print("The passwords did not match; nothing was changed.", file=sys.stderr)
        return 1
    db = Database(settings.sqlalchemy_url)
    try:
        vault = open_vault(settings, db)
        with db.session() as session:
            user = auth.add_user(session, name, role, password, datetime.now(UTC))
            enrolment = second_factor.enrol(session, vault, user)
            session.commit()
    except auth.AccountError as error:
        print(f"Could not add the user: {error}.", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(f"Added {user.name} as a {user.role}.")
    _print_enrolment(user.name, enrolment)
    return 0


def _no_such(name: str) -> int:
    print(f"There is no user called {auth.normal_name(name)}.", file=sys.stderr)
    return 1


def disable(settings: Settings, name: str) -> int:
    db = Database(settings.sqlalchemy_url)
    try:
        with db.session() as session:
            found = auth.disable_user(session, name, datetime.now(UTC))
            session.commit()
    finally:
        db.dispose()
    if not found:
        return _no_such(name)
    print(f"Disabled {auth.normal_name(name)}; their sessions have ended.")
    return 0


def enable(settings: Settings, name: str) -> int:
    db = Database(settings.sqlalchemy_url)
    try:
        with db.session() as session:
            user = auth.find_user(session, name)
            if user is None:
                return _no_such(name)
            user.active = True
            session.add(user)
            audit.record(session, "account_enabled", datetime.now(UTC), detail=user.name)
            session.commit()
    finally:
        db.dispose()
    print(f"Enabled {auth.normal_name(name)}.")
    return 0


def unlock(settings: Settings, name: str) -> int:
    """Lift every sign-in throttle on an account, from every address."""
    db = Database(settings.sqlalchemy_url)
    try:
        with db.session() as session:
            if auth.find_user(session, name) is None:
                return _no_such(name)
            lifted = auth.unlock(session, name)
            audit.record(session, "account_unlocked", datetime.now(UTC), detail=name[:60])
            session.commit()
    finally:
        db.dispose()
    print(f"Unlocked {auth.normal_name(name)} ({lifted} throttles lifted).")
    return 0


def reset_password(settings: Settings, name: str, stdin: TextIO | None = None) -> int:
    """A new password (asked like `add`); the account's sessions end."""
    password = read_password(stdin or sys.stdin)
    if password is None:
        print("The passwords did not match; nothing was changed.", file=sys.stderr)
        return 1
    now = datetime.now(UTC)
    db = Database(settings.sqlalchemy_url)
    try:
        with db.session() as session:
            user = auth.find_user(session, name)
            if user is None:
                return _no_such(name)
            auth.set_password(session, user, password)
            auth.end_sessions(session, user, now)
            audit.record(session, "password_reset", now, detail=user.name)
            session.commit()
    except auth.AccountError as error:
        print(f"Could not reset the password: {error}.", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(f"New password set for {auth.normal_name(name)}; their sessions have ended.")
    return 0


def reset_second_factor(settings: Settings, name: str) -> int:
    """Replace the account's second factor now and print the new one."""
    now = datetime.now(UTC)
    db = Database(settings.sqlalchemy_url)
    try:
        vault = open_vault(settings, db)
        with db.session() as session:
            user = auth.find_user(session, name)
            if user is None:
                return _no_such(name)
            second_factor.reset(session, user)
            enrolment = second_factor.enrol(session, vault, user)
            auth.end_sessions(session, user, now)
            audit.record(session, "second_factor_reset", now, detail=user.name)
            session.commit()
            shown = user.name
    finally:
        db.dispose()
    print(f"The second factor of {shown} was replaced; their sessions have ended.")
    _print_enrolment(shown, enrolment)
    return 0


def list_users(settings: Settings) -> int:
    """Every account: name, role, enabled, second factor, throttled now."""
    db = Database(settings.sqlalchemy_url)
    try:
        with db.session() as session:
            rows = auth.listing(session, settings, datetime.now(UTC))
            session.commit()
    finally:
        db.dispose()
    for row in rows:
        line = f"{row.name:<24} {row.role:<11} {'enabled' if row.active else 'disabled':<9} "
        line += "2fa" if row.enrolled else "no-2fa"
        print(line + (" throttled" if row.throttled else ""))
    return 0
