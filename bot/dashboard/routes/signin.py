"""Signing in with a password, and signing out.

The password is checked with the attempt counted first, per account and
address (bot/dashboard/auth.py); what follows a right password (the code,
enrolment) is in bot/dashboard/signin.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.dashboard import audit, sessions
from bot.dashboard import auth as accounts
from bot.dashboard.deps import Db, Handler, Now, Svc
from bot.dashboard.pages import render, set_cookie
from bot.storage.models import StaffSession

router = APIRouter(prefix="/dashboard", include_in_schema=False)

Short = Annotated[str, Form(max_length=60)]


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, expired: bool = False, signed_out: bool = False, lapsed: bool = False
) -> HTMLResponse:
    """Public: the sign-in form, with a fresh token for the login CSRF check."""
    token = sessions.new_token()
    context = {"csrf": token, "expired": expired, "signed_out": signed_out, "lapsed": lapsed}
    response = render(request, "login.html", context)
    set_cookie(request, response, sessions.LOGIN_CSRF_COOKIE, token)
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    services: Svc,
    db: Db,
    now: Now,
    name: Short = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Public: check the password, throttled per account and per address."""
    if not sessions.csrf_ok(request.cookies.get(sessions.LOGIN_CSRF_COOKIE), csrf_token):
        return render(request, "login.html", {"csrf": "", "problem": "stale_form"}, 403)
    from bot.dashboard import signin  # the steps after the password

    address = signin.client_address(request)
    result = accounts.check_login(db, services.settings, name, password, address, now)
    if result.user is not None:
        response = signin.after_password(request, db, result.user, now)
        db.commit()
        return response
    db.commit()
    fresh = sessions.new_token()
    status = 429 if result.reason == "locked" else 401
    context = {
        "csrf": fresh,
        "problem": result.reason,
        "minutes": services.settings.login_lockout_minutes,
    }
    response = render(request, "login.html", context, status)
    set_cookie(request, response, sessions.LOGIN_CSRF_COOKIE, fresh)
    return response


@router.post("/logout")
def logout(staff: Handler, db: Db, now: Now) -> Response:
    row = db.get(StaffSession, staff.session_id)
    if row is not None:
        sessions.end(db, row, now)
    audit.record(db, "logout", now, staff.user)
    db.commit()
    response = RedirectResponse("/dashboard/login?signed_out=true", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/dashboard")
    return response
