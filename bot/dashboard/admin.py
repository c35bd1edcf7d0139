"""`frontdoor users add|disable`: the only way staff accounts are made or stopped.

The password is asked twice at a terminal (never echoed), or read from the
first line of stdin when stdin is not a terminal, so scripts can make
accounts without the password appearing in the process list.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from typing import TextIO

from bot.dashboard import auth
from bot.settings import Settings
from bot.storage.db import Database


def read_password(stdin: TextIO) -> str | None:
    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        return None
    return first


def add(settings: Settings, name: str, role: str, stdin: TextIO | None = None) -> int:
    password = read_password(stdin or sys.stdin)
    if password is None:
        print("The passwords did not match; nothing was changed.", file=sys.stderr)
        return 1
    db = Database(settings.sqlalchemy_url)
    try:
        with db.session() as session:
            user = auth.add_user(session, name, role, password, datetime.now(UTC))
            session.commit()
    except auth.AccountError as error:
        print(f"Could not add the user: {error}.", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(f"Added {user.name} as a {user.role}.")
    return 0


def disable(settings: Settings, name: str) -> int:
    db = Database(settings.sqlalchemy_url)
    try:
        with db.session() as session:
            found = auth.disable_user(session, name, datetime.now(UTC))
            session.commit()
    finally:
        db.dispose()
    if not found:
        print(f"There is no user called {auth.normal_name(name)}.", file=sys.stderr)
        return 1
    print(f"Disabled {auth.normal_name(name)}; their sessions have ended.")
    return 0
