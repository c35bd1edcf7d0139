"""The queue: the page, its live rows (polled each second) and "Take next".

Urgent requests first, then those safe to call now, then the longest
waiting (bot/dashboard/queue.py). A claim nobody acted on goes back to the
queue whenever the queue is read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from bot.dashboard import audit, claims, present
from bot.dashboard import queue as q
from bot.dashboard import windows as win
from bot.dashboard.access import Staff
from bot.dashboard.deps import Db, Handler, HandlerPolling, Hours, Now, Svc
from bot.dashboard.pages import render
from bot.services import Services
from bot.storage.db import id_of

router = APIRouter(prefix="/dashboard", include_in_schema=False)

Area = Annotated[str, Query(max_length=40)]
Route = Annotated[str, Query(max_length=20)]
Language = Annotated[str, Query(max_length=40)]


def filters(area: str, route: str, language: str, practice: bool = False) -> q.Filters:
    return q.Filters(area=area[:40], route=route[:20], language=language[:40], practice=practice)


def _queue_context(
    services: Services,
    db: Session,
    staff: Staff,
    hours: list[win.Window],
    now: datetime,
    chosen: q.Filters,
) -> dict[str, Any]:
    settings = services.settings
    claims.release_idle(db, now, settings.claim_release_minutes)
    rows = q.open_rows(db, hours, now, settings.urgent_priority, chosen)
    mine = q.claimed_by(db, id_of(staff.user), hours, now, settings.urgent_priority)
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
    return {"rows": rows, "mine": mine, "filters": chosen, "shown": shown}


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    staff: Handler,
    services: Svc,
    db: Db,
    hours: Hours,
    now: Now,
    area: Area = "",
    route: Route = "",
    language: Language = "",
    nothing: bool = False,
    practice: bool = False,
) -> HTMLResponse:
    chosen = filters(area, route, language, practice)
    context = _queue_context(services, db, staff, hours, now, chosen)
    context.update(staff=staff, choices=q.choices(db), nothing=nothing)
    audit.record(db, "queue_view", now, staff.user)
    db.commit()
    return render(request, "queue.html", context)


@router.get("/queue/rows", response_class=HTMLResponse)
def queue_rows(
    request: Request,
    staff: HandlerPolling,
    services: Svc,
    db: Db,
    hours: Hours,
    now: Now,
    shown: Annotated[str, Query(max_length=16)] = "",
    area: Area = "",
    route: Route = "",
    language: Language = "",
    practice: bool = False,
) -> Response:
    """The live part of the queue; 204 (nothing to swap) when it has not changed."""
    chosen = filters(area, route, language, practice)
    context = _queue_context(services, db, staff, hours, now, chosen)
    db.commit()
    if shown and context["shown"] == shown:
        return Response(status_code=204)
    return render(request, "_queue_rows.html", {**context, "staff": staff})


@router.post("/take-next")
def take_next(
    staff: Handler,
    services: Svc,
    db: Db,
    hours: Hours,
    now: Now,
    area: Annotated[str, Form(max_length=40)] = "",
    route: Annotated[str, Form(max_length=20)] = "",
    language: Annotated[str, Form(max_length=40)] = "",
    practice: Annotated[bool, Form()] = False,
) -> Response:
    settings = services.settings
    claims.release_idle(db, now, settings.claim_release_minutes)
    reference = claims.take_next(
        db,
        staff.user,
        hours,
        now,
        settings.urgent_priority,
        filters(area, route, language, practice),
    )
    db.commit()
    if reference is None:
        where = "/dashboard?practice=true&nothing=1" if practice else "/dashboard?nothing=1"
        return RedirectResponse(where, status_code=303)
    return RedirectResponse(f"/dashboard/requests/{reference}", status_code=303)
