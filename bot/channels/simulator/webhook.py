"""A browser simulator: one conversation shown as an SMS thread and a Telegram chat.

It lets content editors and developers see every reply as both media will
show it, through the same engine and database as the real channels. The
simulator is a channel of its own ("simulator"), so its conversations never
mix with real ones, and its message ids are scoped to the browser session so
one session can never replay another's answers. A worker's lines in a live
chat cannot be sent to a page: they wait in the outbox until the page asks
(`/simulator/waiting`, bot/channels/mailbox.py), as the web chat's do.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot.channels.mailbox import collect
from bot.channels.simulator.inbound import SimulatorMessage, SimulatorPoll
from bot.channels.simulator.render import reply_json
from bot.engine import Engine
from bot.types import Inbound

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "web" / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)

router = APIRouter(prefix="/simulator", tags=["simulator"])


def _engine(request: Request) -> Engine:
    return request.app.state.engine


@router.get("", response_class=HTMLResponse)
def page(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "simulator.html", {})


@router.post("/messages")
def message(body: SimulatorMessage, request: Request) -> dict[str, list[dict[str, Any]]]:
    message_id = body.message_id or uuid.uuid4().hex
    inbound = Inbound(
        channel="simulator",
        address=body.session,
        text=body.text or "",
        message_id=f"{body.session}:{message_id}",
        choice=body.choice,
        address_is_phone=False,
    )
    replies = _engine(request).handle(inbound)
    return {"replies": [reply_json(r) for r in replies]}


@router.post("/waiting")
def waiting(body: SimulatorPoll, request: Request) -> dict[str, list[dict[str, object]]]:
    """A worker's lines for this page, oldest first; those up to `after` are confirmed shown."""
    engine = _engine(request)
    person = engine.vault.person_key("simulator", body.session)
    found = collect(engine.db, engine.vault, "simulator", person, body.after, datetime.now(UTC))
    return {"messages": [{"id": m["id"], "text": m["text"]} for m in found]}
