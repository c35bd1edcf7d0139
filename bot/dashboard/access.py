"""Who may use a route: every dashboard route names its role through `require`.

`require("handler")` lets handlers and supervisors in, `require("supervisor")`
only supervisors. A POST must also carry the session's CSRF token. Automatic
polling passes `touch=False`, so an open tab does not keep a session alive
past the idle timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from bot.dashboard import audit, sessions
from bot.dashboard.auth import allowed
from bot.services import services_of
from bot.storage.db import id_of
from bot.storage.models import StaffUser


class NotSignedIn(Exception):
    def __init__(self, expired: bool = False) -> None:
        super().__init__("not signed in")
        self.expired = expired


class Forbidden(Exception):
    """Signed in, but this needs a supervisor."""


class BadCsrf(Exception):
    """A POST without this session's CSRF token."""


@dataclass
class Staff:
    user: StaffUser
    session_id: int
    csrf: str


def now_of(request: Request) -> datetime:
    """The dashboard's clock; tests may set `app.state.dashboard_clock` to move time."""
    clock = getattr(request.app.state, "dashboard_clock", None)
    return clock() if clock else datetime.now(UTC)


async def _given_csrf(request: Request) -> str | None:
    header = request.headers.get(sessions.CSRF_HEADER)
    if header:
        return header
    if "form" in request.headers.get("content-type", ""):
        form = await request.form()
        value = form.get(sessions.CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def _check(request: Request, role: str, touch: bool, given: str | None) -> Staff:
    """The signed-in staff member of at least `role`, or the reason not."""
    services = services_of(request.app.state)
    now = now_of(request)
    token = request.cookies.get(sessions.COOKIE)
    with services.db.session() as db:
        found = sessions.lookup(db, token, now, services.settings.dashboard_idle_minutes)
        if found.expired:
            audit.record(db, "session_idle", now, found.user)
            db.commit()
            raise NotSignedIn(expired=True)
        if found.row is None or found.user is None:
            raise NotSignedIn()
        if request.method == "POST" and not sessions.csrf_ok(found.row.csrf_token, given):
            raise BadCsrf()
        if not allowed(found.user.role, role):
            raise Forbidden()
        if touch:
            sessions.touch(db, found.row, now)
        db.commit()
        return Staff(found.user, id_of(found.row), found.row.csrf_token)


def require(role: str, touch: bool = True) -> Callable[[Request], Awaitable[Staff]]:
    """A dependency that lets in signed-in staff of at least `role`."""
    if role not in ("handler", "supervisor", "figures", "signed_in"):
        raise ValueError(role)

    async def dependency(request: Request) -> Staff:
        given = await _given_csrf(request) if request.method == "POST" else None
        # The database work runs in a worker thread, never on the event loop: a
        # wait for SQLite's lock there would stall every other request, including
        # the one holding the lock, until the timeout.
        return await run_in_threadpool(_check, request, role, touch, given)

    dependency.role = role  # type: ignore[attr-defined]  # read by the route x role test
    return dependency


handler = require("handler")
handler_polling = require("handler", touch=False)
supervisor = require("supervisor")
figures = require("figures")  # supervisors and commissioners (bot/dashboard/figures.py)
signed_in = require("signed_in")  # any account, e.g. to sign out
