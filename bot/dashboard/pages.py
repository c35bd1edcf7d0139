"""Rendering the dashboard's pages: the templates with their filters, and cookies.

Python hands the templates codes (`voicemail_not_allowed`); the English
sentences are in `bot/dashboard/templates/`. Every route module renders
through `render`, so each page knows the area names and the same filters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from bot.dashboard import attempts, present
from bot.dashboard import queue as q
from bot.services import services_of

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
TEMPLATES.env.filters.update(
    clock=present.clock,
    day_clock=present.day_clock,
    full=present.full,
    waited=present.waited,
    language_name=present.language_name,
)
TEMPLATES.env.globals.update(KINDS=attempts.KINDS, OUTCOMES=attempts.OUTCOMES, ROUTES=q.ROUTES)


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    services = services_of(request.app.state)
    base = {"areas": present.area_names(services.content.data)}
    return TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status)


def refused(
    request: Request,
    db: Session,
    name: str,
    context: dict[str, Any],
    status: int = 409,
    form: dict[str, Any] | None = None,
    **said: Any,
) -> HTMLResponse:
    """A refused action's answer: the page again, built from what the caller
    read afresh (someone may have changed it meanwhile), with the server's
    reasons (`said`) and what was typed (`form`) kept. The refusal's audit
    record, written in the route's transaction, is committed first."""
    db.commit()
    context.update(said)
    if form:
        context["form"] = {**context.get("form", {}), **form}
    return render(request, name, context, status)


def _secure(request: Request) -> bool:
    base = services_of(request.app.state).settings.public_base_url
    return request.url.scheme == "https" or base.startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """A dashboard cookie: never readable by scripts, never sent from another site,
    only over https where the service is served over https."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/dashboard",
    )
