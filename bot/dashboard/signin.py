"""The sign-in steps after the password: the code, enrolment, and a supervisor's reset.

A right password gives a browser only a pending token (five minutes, three
wrong codes); the session starts when the second factor is right. Codes are
throttled by the same per-account-and-address counter as passwords. In
development an account never enrolled still signs in with its password, so
`make run` keeps working; an enrolled account always needs its code.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlmodel import Session

from bot.dashboard import access, audit, second_factor, sessions
from bot.dashboard import auth as accounts
from bot.dashboard.access import Staff
from bot.dashboard.deps import Supervisor
from bot.dashboard.pages import render, set_cookie
from bot.services import services_of
from bot.storage.models import StaffPending, StaffUser

router = APIRouter(prefix="/dashboard", include_in_schema=False)
Code = Annotated[str, Form(max_length=20)]
Token = Annotated[str, Form(max_length=100)]


def client_address(request: Request) -> str:
    """The client address: uvicorn takes it from the proxy only when the proxy is
    listed in FORWARDED_ALLOW_IPS (README, "Behind a proxy")."""
    return (request.client.host if request.client else "unknown")[:64]


def _signed_in(request: Request, db: Session, user: StaffUser, now: datetime) -> Response:
    accounts.succeeded(db, user.name, client_address(request))
    token = sessions.start(db, user, now)
    audit.record(db, "login", now, user)
    home = "/dashboard/figures" if user.role == "commissioner" else "/dashboard"
    response = RedirectResponse(home, status_code=303)
    set_cookie(request, response, sessions.COOKIE, token)
    response.delete_cookie(sessions.LOGIN_CSRF_COOKIE, path="/dashboard")
    response.delete_cookie(sessions.PENDING_COOKIE, path="/dashboard")
    return response


def after_password(request: Request, db: Session, user: StaffUser, now: datetime) -> Response:
    """What a right password leads to: the code, enrolment, or (development, never
    enrolled) the queue."""
    settings = services_of(request.app.state).settings
    if second_factor.enrolled(user):
        step = "/dashboard/login/code"
    elif second_factor.must_enrol(settings, user):
        step = "/dashboard/login/enrol"
    else:
        return _signed_in(request, db, user, now)
    token, _row = sessions.start_pending(db, user, now)
    response = RedirectResponse(step, status_code=303)
    set_cookie(request, response, sessions.PENDING_COOKIE, token)
    return response


def _lapsed() -> Response:
    response = RedirectResponse("/dashboard/login?lapsed=true", status_code=303)
    response.delete_cookie(sessions.PENDING_COOKIE, path="/dashboard")
    return response


def _page(
    request: Request, name: str, context: dict[str, object], status: int = 200
) -> HTMLResponse:
    """A step's page with a fresh login CSRF token (double-submitted, as on sign-in)."""
    token = sessions.new_token()
    response = render(request, name, {**context, "csrf": token}, status)
    set_cookie(request, response, sessions.LOGIN_CSRF_COOKIE, token)
    return response


def _enrol_context(request: Request, row: StaffPending, user: StaffUser) -> dict[str, object]:
    secret = second_factor.pending_secret(services_of(request.app.state).vault, row)
    uri = second_factor.uri_for(user.name, secret)
    return {"secret": secret, "qr": second_factor.qr_svg(uri)}


@router.get("/login/code", response_class=HTMLResponse)
def code_page(request: Request) -> Response:
    services = services_of(request.app.state)
    with services.db.session() as db:
        found = sessions.find_pending(
            db, request.cookies.get(sessions.PENDING_COOKIE), access.now_of(request)
        )
        db.commit()
    if found is None or not second_factor.enrolled(found[1]):
        return _lapsed()
    return _page(request, "login_code.html", {})


@router.post("/login/code", response_class=HTMLResponse)
def code(request: Request, code: Code = "", csrf_token: Token = "") -> Response:
    """Public but pending-bound: the code (or a recovery code) after the password."""
    services = services_of(request.app.state)
    now = access.now_of(request)
    if not sessions.csrf_ok(request.cookies.get(sessions.LOGIN_CSRF_COOKIE), csrf_token):
        return _page(request, "login_code.html", {"problem": "stale_form"}, 403)
    address = client_address(request)
    with services.db.session() as db:
        found = sessions.find_pending(db, request.cookies.get(sessions.PENDING_COOKIE), now)
        if found is None or not second_factor.enrolled(found[1]):
            db.commit()
            return _lapsed()
        row, user = found
        if not accounts.reserve(db, services.settings, user.name, address, now):
            audit.record(db, "login_locked", now, user)
            db.commit()
            context = {"problem": "locked", "minutes": services.settings.login_lockout_minutes}
            return _page(request, "login_code.html", context, 429)
        db.commit()
        how = second_factor.accept_code(db, services.vault, user, code, now)
        if how is None:
            row.tries += 1
            db.add(row)
            audit.record(db, "second_factor_failed", now, user)
            db.commit()
            return _page(request, "login_code.html", {"problem": "bad_code"}, 401)
        if how == "recovery":
            audit.record(db, "recovery_code_used", now, user)
        db.delete(row)
        response = _signed_in(request, db, user, now)
        db.commit()
    return response


@router.get("/login/enrol", response_class=HTMLResponse)
def enrol_page(request: Request) -> Response:
    services = services_of(request.app.state)
    with services.db.session() as db:
        found = sessions.find_pending(
            db, request.cookies.get(sessions.PENDING_COOKIE), access.now_of(request)
        )
        if found is None or second_factor.enrolled(found[1]):
            db.commit()
            return _lapsed()
        context = _enrol_context(request, *found)
        db.commit()
    return _page(request, "login_enrol.html", context)


@router.post("/login/enrol", response_class=HTMLResponse)
def enrol(request: Request, code: Code = "", csrf_token: Token = "") -> Response:
    """Confirm a new factor with its first code; then show the recovery codes once."""
    services = services_of(request.app.state)
    now = access.now_of(request)
    if not sessions.csrf_ok(request.cookies.get(sessions.LOGIN_CSRF_COOKIE), csrf_token):
        return _lapsed()
    with services.db.session() as db:
        found = sessions.find_pending(db, request.cookies.get(sessions.PENDING_COOKIE), now)
        if found is None or second_factor.enrolled(found[1]):
            db.commit()
            return _lapsed()
        row, user = found
        codes = second_factor.confirm_enrolment(db, services.vault, row, user, code, now)
        if codes is None:
            row.tries += 1
            db.add(row)
            context = {**_enrol_context(request, row, user), "problem": "bad_code"}
            db.commit()
            return _page(request, "login_enrol.html", context, 401)
        audit.record(db, "second_factor_enrolled", now, user)
        accounts.succeeded(db, user.name, client_address(request))
        db.delete(row)
        token = sessions.start(db, user, now)
        audit.record(db, "login", now, user)
        db.commit()
    response = render(request, "login_recovery_codes.html", {"codes": codes})
    set_cookie(request, response, sessions.COOKIE, token)
    response.delete_cookie(sessions.LOGIN_CSRF_COOKIE, path="/dashboard")
    response.delete_cookie(sessions.PENDING_COOKIE, path="/dashboard")
    return response


# ----- supervisors: colleagues' second factors ------------------------------------


def _staff_page(
    request: Request, db: Session, staff: Staff, done: str = "", problem: str = ""
) -> HTMLResponse:
    users = db.execute(select(StaffUser).order_by(StaffUser.name)).scalars().all()
    left = {u.id: second_factor.recovery_left(db, u) for u in users}
    context = {"staff": staff, "users": users, "left": left, "done": done, "problem": problem}
    return render(request, "staff.html", context, 403 if problem else 200)


@router.get("/staff", response_class=HTMLResponse)
def staff_page(
    request: Request, staff: Supervisor, reset: Annotated[str, Query(max_length=60)] = ""
) -> HTMLResponse:
    """Supervisors: every account, whether it has a second factor, and its reset."""
    services = services_of(request.app.state)
    with services.db.session() as db:
        page = _staff_page(request, db, staff, done=reset)
        db.commit()
    return page


@router.post("/staff/{name}/reset-second-factor", response_class=HTMLResponse)
def reset_second_factor(request: Request, name: str, staff: Supervisor) -> Response:
    """A colleague lost their phone: remove their factor and end their sessions;
    they enrol a new one at their next sign-in. Audited."""
    services = services_of(request.app.state)
    now = access.now_of(request)
    with services.db.session() as db:
        user = accounts.find_user(db, name[:60])
        if user is None or user.id == staff.user.id:
            page = _staff_page(request, db, staff, problem="not_colleague")
            db.commit()
            return page
        second_factor.reset(db, user)
        accounts.end_sessions(db, user, now)
        audit.record(db, "second_factor_reset", now, staff.user, detail=user.name)
        db.commit()
    return RedirectResponse(f"/dashboard/staff?reset={user.name}", status_code=303)
