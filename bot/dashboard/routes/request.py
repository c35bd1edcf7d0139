"""One request: its page, its live part, claiming and releasing it, the number,
and recording call attempts.

The safe-contact wishes come first; the number and the person's details only
for the handler holding the claim, every view audited (safety rule 5). A
request that does not exist gets the calm "not found" page (`deps.Found`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlmodel import Session, col

from bot.dashboard import attempts, audit, claims, present
from bot.dashboard import queue as q
from bot.dashboard import windows as win
from bot.dashboard.access import Staff
from bot.dashboard.deps import (
    Db,
    Found,
    FoundPolling,
    Handler,
    HandlerPolling,
    Hours,
    Now,
    RequestMissing,
    Svc,
    find,
)
from bot.dashboard.pages import refused, render
from bot.notices import queue_text_before_call
from bot.services import Services
from bot.storage import binding
from bot.storage.db import id_of
from bot.storage.models import CallAttempt, CallbackRequest, StaffUser

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def _live_state(
    services: Services, found: CallbackRequest, hours: list[win.Window], now: datetime
) -> dict[str, Any]:
    row = q.row_for(found, hours, now, services.settings.urgent_priority)
    times = present.fingerprint(found.asap, found.safe_windows)
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
    services: Services,
    db: Session,
    staff: Staff,
    found: CallbackRequest,
    hours: list[win.Window],
    now: datetime,
) -> dict[str, Any]:
    mine = found.status == "claimed" and found.claimed_by == staff.user.id
    holder = None
    if found.claimed_by is not None and not mine:
        other = db.get(StaffUser, found.claimed_by)
        holder = other.name if other else None
    details = (
        services.vault.open(found.details_enc, binding.request_details(found.reference))
        if mine
        else {}
    )
    live = _live_state(services, found, hours, now)
    return {
        "staff": staff,
        "r": found,
        "mine": mine,
        "holder": holder,
        "details": details,
        "history": attempts.history(db, services.vault, found, staff.user),
        "seen_times": live["times"],
        **live,
    }


def _again(db: Session, reference: str, staff: Staff) -> CallbackRequest:
    """The request read again after a refused action (it may be gone meanwhile)."""
    found = find(db, reference)
    if found is None:
        raise RequestMissing(staff)
    return found


@router.get("/requests/{reference}", response_class=HTMLResponse)
def request_page(
    request: Request,
    staff: Handler,
    found: Found,
    services: Svc,
    db: Db,
    hours: Hours,
    now: Now,
    recorded: Annotated[str, Query(max_length=30)] = "",
    texted: Annotated[str, Query(max_length=30)] = "",
) -> HTMLResponse:
    context = _request_context(services, db, staff, found, hours, now)
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
    return render(request, "request.html", context)


@router.get("/requests/{reference}/live", response_class=HTMLResponse)
def request_live(
    request: Request,
    staff: HandlerPolling,
    found: FoundPolling,
    services: Svc,
    db: Db,
    hours: Hours,
    now: Now,
    seen: Annotated[str, Query(max_length=16)] = "",
    shown: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """The request's status and safe times, polled each second: a cancellation or a
    change of times made in the bot shows at once."""
    db.commit()
    live = _live_state(services, found, hours, now)
    if shown and live["shown"] == shown:
        return Response(status_code=204)
    context = {"staff": staff, "r": found, "seen_times": seen or live["times"], **live}
    return render(request, "_request_live.html", context)


@router.post("/requests/{reference}/claim", response_class=HTMLResponse)
def claim(
    request: Request,
    staff: Handler,
    found: Found,
    services: Svc,
    db: Db,
    hours: Hours,
    now: Now,
) -> Response:
    got = claims.claim(db, id_of(found), staff.user, now)
    db.commit()
    if got:
        return RedirectResponse(f"/dashboard/requests/{found.reference}", status_code=303)
    found = _again(db, found.reference, staff)
    context = _request_context(services, db, staff, found, hours, now)
    problem = "taken" if found.status == "claimed" else "not_open"
    return refused(request, db, "request.html", context, 409, problem=problem)


@router.post("/requests/{reference}/release")
def release(request: Request, staff: Handler, found: Found, db: Db, now: Now) -> Response:
    may = found.claimed_by == staff.user.id or staff.user.role == "supervisor"
    if may:
        claims.release(db, found, staff.user, now)
    db.commit()
    if not may:
        return render(request, "forbidden.html", {"staff": staff, "why": "not_holder"}, 403)
    return RedirectResponse("/dashboard", status_code=303)


@router.post("/requests/{reference}/number", response_class=HTMLResponse)
def show_number(
    request: Request, staff: Handler, found: Found, services: Svc, db: Db, now: Now
) -> HTMLResponse:
    """The phone number, only for the handler holding the claim; every view audited."""
    if found.status != "claimed" or found.claimed_by != staff.user.id:
        db.commit()
        return render(request, "_number.html", {"phone": None}, 403)
    context = binding.request_details(found.reference)
    phone = services.vault.open(found.details_enc, context).get("phone")
    audit.record(db, "number_view", now, staff.user, reference=found.reference)
    claims.touch(db, found, now)
    db.commit()
    return render(request, "_number.html", {"phone": phone or ""})


@router.post("/requests/{reference}/attempts", response_class=HTMLResponse)
def record_attempt(
    request: Request,
    staff: Handler,
    found: Found,
    services: Svc,
    db: Db,
    hours: Hours,
    now: Now,
    kind: Annotated[str, Form(max_length=30)] = "",
    outcome: Annotated[str, Form(max_length=40)] = "",
    call_back_at: Annotated[str, Form(max_length=40)] = "",
    notes: Annotated[str, Form(max_length=attempts.NOTES_LIMIT)] = "",
    override_reason: Annotated[str, Form(max_length=attempts.REASON_LIMIT)] = "",
) -> Response:
    result = attempts.record(
        db,
        services.vault,
        found,
        staff.user,
        kind=kind,
        outcome=outcome,
        notes=notes,
        call_back_local=call_back_at,
        override_reason=override_reason,
        now=now,
        hours=hours,
        urgent_priority=services.settings.urgent_priority,
    )
    texted = ""
    if result.ok and kind == "sent_text":
        texted = _text_before_call(services, db, found, now)
    db.commit()
    if result.ok:
        extra = f"&texted={texted}" if texted else ""
        return RedirectResponse(
            f"/dashboard/requests/{found.reference}?recorded={kind}{extra}", status_code=303
        )
    found = _again(db, found.reference, staff)
    context = _request_context(services, db, staff, found, hours, now)
    return refused(
        request,
        db,
        "request.html",
        context,
        409 if result.refusals else 422,
        {"kind": kind, "outcome": outcome, "call_back_at": call_back_at, "notes": notes},
        refusals=result.refusals,
        problems=result.problems,
    )


def _text_before_call(
    services: Services, db: Session, found: CallbackRequest, now: datetime
) -> str:
    """Queue our neutral "we will call soon" text through the outbox, in the same
    transaction as the attempt. It goes only if the person agreed to a text first
    and their number has not opted out, even after a supervisor's override."""
    occasion = db.execute(
        select(func.count(col(CallAttempt.id))).where(
            col(CallAttempt.request_id) == found.id, col(CallAttempt.kind) == "sent_text"
        )
    ).scalar_one()
    return queue_text_before_call(
        db,
        services.content,
        services.vault,
        found,
        f"dashboard-{occasion}",
        now,
        settings=services.settings,
    )
