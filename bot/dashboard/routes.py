"""The dashboard's web routes, under /dashboard. Each names its role via `access`.

Pages are server-rendered; htmx polls the queue and a request's status every
second and swaps only when something changed (the server answers 204
otherwise). Python hands templates codes; the templates hold the words.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlmodel import Session, col

from bot.dashboard import access, attempts, audit, claims, present, sessions
from bot.dashboard import auth as accounts
from bot.dashboard import queue as q
from bot.dashboard import windows as win
from bot.dashboard.access import BadCsrf, Forbidden, NotSignedIn, Staff
from bot.notices import queue_text_before_call
from bot.storage import binding
from bot.storage.db import id_of
from bot.storage.models import CallAttempt, CallbackRequest, StaffSession, StaffUser

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
TEMPLATES.env.filters.update(
    clock=present.clock,
    day_clock=present.day_clock,
    full=present.full,
    waited=present.waited,
    language_name=present.language_name,
)
TEMPLATES.env.globals.update(KINDS=attempts.KINDS, OUTCOMES=attempts.OUTCOMES, ROUTES=q.ROUTES)

router = APIRouter(prefix="/dashboard", include_in_schema=False)

Handler = Annotated[Staff, Depends(access.handler)]
HandlerPolling = Annotated[Staff, Depends(access.handler_polling)]
Supervisor = Annotated[Staff, Depends(access.supervisor)]
Reference = Annotated[str, Query(max_length=16)]
Short = Annotated[str, Form(max_length=60)]


def _render(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    engine = access.engine_of(request)
    base = {"areas": present.area_names(engine.content.data)}
    return TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _hours(request: Request) -> list[win.Window]:
    return win.service_hours(access.engine_of(request).content.data.get("service", {}))


def _secure(request: Request) -> bool:
    base = access.engine_of(request).settings.public_base_url
    return request.url.scheme == "https" or base.startswith("https://")


def _set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/dashboard",
    )


def _filters(area: str, route: str, language: str, practice: bool = False) -> q.Filters:
    return q.Filters(
        area=area[:40], route=route[:20], language=language[:40], practice=practice
    )


# ----- signing in and out ----------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, expired: bool = False, signed_out: bool = False, lapsed: bool = False
) -> HTMLResponse:
    """Public: the sign-in form, with a fresh token for the login CSRF check."""
    token = sessions.new_token()
    context = {"csrf": token, "expired": expired, "signed_out": signed_out, "lapsed": lapsed}
    response = _render(request, "login.html", context)
    _set_cookie(request, response, sessions.LOGIN_CSRF_COOKIE, token)
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    name: Short = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Public: check the password, throttled per account and per address."""
    engine = access.engine_of(request)
    now = access.now_of(request)
    if not sessions.csrf_ok(request.cookies.get(sessions.LOGIN_CSRF_COOKIE), csrf_token):
        return _render(request, "login.html", {"csrf": "", "problem": "stale_form"}, 403)
    from bot.dashboard import signin  # the steps after the password

    with engine.db.session() as db:
        address = signin.client_address(request)
        result = accounts.check_login(db, engine.settings, name, password, address, now)
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
        "minutes": engine.settings.login_lockout_minutes,
    }
    response = _render(request, "login.html", context, status)
    _set_cookie(request, response, sessions.LOGIN_CSRF_COOKIE, fresh)
    return response


@router.post("/logout")
def logout(request: Request, staff: Handler) -> Response:
    engine = access.engine_of(request)
    now = access.now_of(request)
    with engine.db.session() as db:
        row = db.get(StaffSession, staff.session_id)
        if row is not None:
            sessions.end(db, row, now)
        audit.record(db, "logout", now, staff.user)
        db.commit()
    response = RedirectResponse("/dashboard/login?signed_out=true", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/dashboard")
    return response


# ----- the queue ---------------------------------------------------------------


def _queue_context(
    request: Request, db: Session, staff: Staff, filters: q.Filters
) -> dict[str, Any]:
    engine = access.engine_of(request)
    now = access.now_of(request)
    hours = _hours(request)
    claims.release_idle(db, now, engine.settings.claim_release_minutes)
    rows = q.open_rows(db, hours, now, engine.settings.urgent_priority, filters)
    mine = q.claimed_by(db, id_of(staff.user), hours, now, engine.settings.urgent_priority)
    shown = present.fingerprint(
        [
            (
                r.request.reference,
                r.request.priority,
                r.safe,
                r.later,
                r.waiting_minutes,
                r.request.complete,
                r.request.triage,
            )
            for r in rows + mine
        ]
    )
    return {"rows": rows, "mine": mine, "filters": filters, "shown": shown}


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    staff: Handler,
    area: Annotated[str, Query(max_length=40)] = "",
    route: Annotated[str, Query(max_length=20)] = "",
    language: Annotated[str, Query(max_length=40)] = "",
    nothing: bool = False,
    practice: bool = False,
) -> HTMLResponse:
    engine = access.engine_of(request)
    now = access.now_of(request)
    with engine.db.session() as db:
        filters = _filters(area, route, language, practice)
        context = _queue_context(request, db, staff, filters)
        context.update(staff=staff, choices=q.choices(db), nothing=nothing)
        audit.record(db, "queue_view", now, staff.user)
        db.commit()
    return _render(request, "queue.html", context)


@router.get("/queue/rows", response_class=HTMLResponse)
def queue_rows(
    request: Request,
    staff: HandlerPolling,
    shown: Annotated[str, Query(max_length=16)] = "",
    area: Annotated[str, Query(max_length=40)] = "",
    route: Annotated[str, Query(max_length=20)] = "",
    language: Annotated[str, Query(max_length=40)] = "",
    practice: bool = False,
) -> Response:
    """The live part of the queue; 204 (nothing to swap) when it has not changed."""
    engine = access.engine_of(request)
    with engine.db.session() as db:
        filters = _filters(area, route, language, practice)
        context = _queue_context(request, db, staff, filters)
        db.commit()
    if shown and context["shown"] == shown:
        return Response(status_code=204)
    return _render(request, "_queue_rows.html", {**context, "staff": staff})


@router.post("/take-next")
def take_next(
    request: Request,
    staff: Handler,
    area: Annotated[str, Form(max_length=40)] = "",
    route: Annotated[str, Form(max_length=20)] = "",
    language: Annotated[str, Form(max_length=40)] = "",
    practice: Annotated[bool, Form()] = False,
) -> Response:
    engine = access.engine_of(request)
    now = access.now_of(request)
    with engine.db.session() as db:
        claims.release_idle(db, now, engine.settings.claim_release_minutes)
        reference = claims.take_next(
            db,
            staff.user,
            _hours(request),
            now,
            engine.settings.urgent_priority,
            _filters(area, route, language, practice),
        )
        db.commit()
    if reference is None:
        where = "/dashboard?practice=true&nothing=1" if practice else "/dashboard?nothing=1"
        return RedirectResponse(where, status_code=303)
    return RedirectResponse(f"/dashboard/requests/{reference}", status_code=303)


# ----- one request ---------------------------------------------------------------


def _find(db: Session, reference: str) -> CallbackRequest | None:
    return db.execute(
        select(CallbackRequest)
        .where(col(CallbackRequest.reference) == reference[:16])
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _missing(request: Request, staff: Staff) -> HTMLResponse:
    return _render(request, "missing.html", {"staff": staff}, 404)


def _live_state(request: Request, found: CallbackRequest) -> dict[str, Any]:
    engine = access.engine_of(request)
    now = access.now_of(request)
    row = q.row_for(found, _hours(request), now, engine.settings.urgent_priority)
    times = present.fingerprint(found.asap, found.safe_windows)
    hours = _hours(request)
    lines = present.window_lines(win.effective(found.safe_windows or [], found.asap, hours))
    shown = present.fingerprint(
        found.status,
        times,
        row.safe,
        row.later,
        found.claimed_by,
        found.complete,
        found.priority,
        found.triage,
        found.safety_flags,
    )
    return {"row": row, "times": times, "lines": lines, "shown": shown}


def _request_context(
    request: Request, db: Session, staff: Staff, found: CallbackRequest
) -> dict[str, Any]:
    engine = access.engine_of(request)
    mine = found.status == "claimed" and found.claimed_by == staff.user.id
    holder = None
    if found.claimed_by is not None and not mine:
        other = db.get(StaffUser, found.claimed_by)
        holder = other.name if other else None
    details = (
        engine.vault.open(found.details_enc, binding.request_details(found.reference))
        if mine
        else {}
    )
    live = _live_state(request, found)
    return {
        "staff": staff,
        "r": found,
        "mine": mine,
        "holder": holder,
        "details": details,
        "history": attempts.history(db, engine.vault, found, staff.user),
        "seen_times": live["times"],
        **live,
    }


@router.get("/requests/{reference}", response_class=HTMLResponse)
def request_page(
    request: Request,
    reference: str,
    staff: Handler,
    recorded: Annotated[str, Query(max_length=30)] = "",
    texted: Annotated[str, Query(max_length=30)] = "",
) -> HTMLResponse:
    engine = access.engine_of(request)
    now = access.now_of(request)
    with engine.db.session() as db:
        found = _find(db, reference)
        if found is None:
            return _missing(request, staff)
        context = _request_context(request, db, staff, found)
        audit.record(
            db,
            "request_view",
            now,
            staff.user,
            reference=found.reference,
            detail="holder" if context["mine"] else None,
        )
        if context["mine"]:
            claims.touch(db, found, now)
        db.commit()
    context["recorded"] = recorded if recorded in attempts.KINDS else ""
    context["texted"] = texted
    return _render(request, "request.html", context)


@router.get("/requests/{reference}/live", response_class=HTMLResponse)
def request_live(
    request: Request,
    reference: str,
    staff: HandlerPolling,
    seen: Annotated[str, Query(max_length=16)] = "",
    shown: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """The request's status and safe times, polled each second: a cancellation or a
    change of times made in the bot shows at once."""
    engine = access.engine_of(request)
    with engine.db.session() as db:
        found = _find(db, reference)
        db.commit()
    if found is None:
        return _missing(request, staff)
    live = _live_state(request, found)
    if shown and live["shown"] == shown:
        return Response(status_code=204)
    context = {"staff": staff, "r": found, "seen_times": seen or live["times"], **live}
    return _render(request, "_request_live.html", context)


@router.post("/requests/{reference}/claim", response_class=HTMLResponse)
def claim(request: Request, reference: str, staff: Handler) -> Response:
    engine = access.engine_of(request)
    now = access.now_of(request)
    with engine.db.session() as db:
        found = _find(db, reference)
        if found is None:
            return _missing(request, staff)
        got = claims.claim(db, id_of(found), staff.user, now)
        db.commit()
        if got:
            return RedirectResponse(f"/dashboard/requests/{found.reference}", status_code=303)
        found = _find(db, reference)
        if found is None:
            return _missing(request, staff)
        context = _request_context(request, db, staff, found)
        db.commit()
    context["problem"] = "taken" if found.status == "claimed" else "not_open"
    return _render(request, "request.html", context, 409)


@router.post("/requests/{reference}/release")
def release(request: Request, reference: str, staff: Handler) -> Response:
    engine = access.engine_of(request)
    now = access.now_of(request)
    with engine.db.session() as db:
        found = _find(db, reference)
        if found is None:
            return _missing(request, staff)
        may = found.claimed_by == staff.user.id or staff.user.role == "supervisor"
        if may:
            claims.release(db, found, staff.user, now)
        db.commit()
    if not may:
        return _render(request, "forbidden.html", {"staff": staff, "why": "not_holder"}, 403)
    return RedirectResponse("/dashboard", status_code=303)


@router.post("/requests/{reference}/number", response_class=HTMLResponse)
def show_number(request: Request, reference: str, staff: Handler) -> HTMLResponse:
    """The phone number, only for the handler holding the claim; every view audited."""
    engine = access.engine_of(request)
    now = access.now_of(request)
    with engine.db.session() as db:
        found = _find(db, reference)
        if found is None:
            return _missing(request, staff)
        if found.status != "claimed" or found.claimed_by != staff.user.id:
            db.commit()
            return _render(request, "_number.html", {"phone": None}, 403)
        context = binding.request_details(found.reference)
        phone = engine.vault.open(found.details_enc, context).get("phone")
        audit.record(db, "number_view", now, staff.user, reference=found.reference)
        claims.touch(db, found, now)
        db.commit()
    return _render(request, "_number.html", {"phone": phone or ""})


@router.post("/requests/{reference}/attempts", response_class=HTMLResponse)
def record_attempt(
    request: Request,
    reference: str,
    staff: Handler,
    kind: Annotated[str, Form(max_length=30)] = "",
    outcome: Annotated[str, Form(max_length=40)] = "",
    call_back_at: Annotated[str, Form(max_length=40)] = "",
    notes: Annotated[str, Form(max_length=attempts.NOTES_LIMIT)] = "",
    override_reason: Annotated[str, Form(max_length=attempts.REASON_LIMIT)] = "",
) -> Response:
    engine = access.engine_of(request)
    now = access.now_of(request)
    with engine.db.session() as db:
        found = _find(db, reference)
        if found is None:
            return _missing(request, staff)
        result = attempts.record(
            db,
            engine.vault,
            found,
            staff.user,
            kind=kind,
            outcome=outcome,
            notes=notes,
            call_back_local=call_back_at,
            override_reason=override_reason,
            now=now,
            hours=_hours(request),
        )
        texted = ""
        if result.ok and kind == "sent_text":
            texted = _text_before_call(request, db, found, now)
        db.commit()
        if result.ok:
            extra = f"&texted={texted}" if texted else ""
            return RedirectResponse(
                f"/dashboard/requests/{found.reference}?recorded={kind}{extra}", status_code=303
            )
        found = _find(db, reference)
        if found is None:
            return _missing(request, staff)
        context = _request_context(request, db, staff, found)
        db.commit()
    context.update(
        refusals=result.refusals,
        problems=result.problems,
        form={"kind": kind, "outcome": outcome, "call_back_at": call_back_at, "notes": notes},
    )
    return _render(request, "request.html", context, 409 if result.refusals else 422)


def _text_before_call(request: Request, db: Session, found: CallbackRequest, now: datetime) -> str:
    """Queue our neutral "we will call soon" text through the outbox, in the same
    transaction as the attempt. It goes only if the person agreed to a text first
    and their number has not opted out, even after a supervisor's override."""
    engine = access.engine_of(request)
    occasion = db.execute(
        select(func.count(col(CallAttempt.id))).where(
            col(CallAttempt.request_id) == found.id, col(CallAttempt.kind) == "sent_text"
        )
    ).scalar_one()
    return queue_text_before_call(
        db, engine.content, engine.vault, found, f"dashboard-{occasion}", now
    )


# ----- audit (supervisors) ---------------------------------------------------------


@router.get("/requests/{reference}/audit", response_class=HTMLResponse)
def request_audit(request: Request, reference: str, staff: Supervisor) -> HTMLResponse:
    engine = access.engine_of(request)
    with engine.db.session() as db:
        rows = audit.events(db, reference[:16])
        db.commit()
    reasons = {row.id: audit.reason_of(row, engine.vault) for row in rows}
    context = {"staff": staff, "reference": reference[:16], "events": rows, "reasons": reasons}
    return _render(request, "audit.html", context)


@router.get("/audit.csv")
def audit_csv(request: Request, staff: Supervisor, reference: Reference = "") -> Response:
    engine = access.engine_of(request)
    now = access.now_of(request)
    with engine.db.session() as db:
        rows = audit.events(db, reference or None)
        audit.record(db, "audit_export", now, staff.user, reference=reference or None)
        db.commit()
    name = f"audit-{reference or 'all'}.csv"
    return Response(
        audit.to_csv(rows, engine.vault),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ----- wiring -------------------------------------------------------------------


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def install(app: FastAPI) -> None:
    """Mount the dashboard and turn access failures into calm answers."""
    from bot.dashboard import signin

    app.include_router(router)
    app.include_router(signin.router)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, error: NotSignedIn) -> Response:
        target = "/dashboard/login" + ("?expired=true" if error.expired else "")
        if _is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": target})
        response = RedirectResponse(target, status_code=303)
        if error.expired:
            response.delete_cookie(sessions.COOKIE, path="/dashboard")
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _error: Forbidden) -> Response:
        return _render(request, "forbidden.html", {"why": "supervisor"}, 403)

    @app.exception_handler(BadCsrf)
    async def bad_csrf(request: Request, _error: BadCsrf) -> Response:
        return _render(request, "forbidden.html", {"why": "stale_form"}, 403)
