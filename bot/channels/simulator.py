"""A browser simulator: one conversation shown as an SMS thread and a Telegram chat.

It lets content editors and developers see every reply as both media will
show it, through the same engine and database as the real channels. The
simulator is a channel of its own ("simulator"), so its conversations never
mix with real ones, and its message ids are scoped to the browser session so
one session can never replay another's answers.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from bot.channels.render import rich_html, sms_text
from bot.engine import Engine
from bot.types import Inbound, Reply

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "web" / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)

ID_PATTERN = r"^[A-Za-z0-9_-]+$"
OPTION_PATTERN = r"^[A-Za-z0-9_.:-]+$"

router = APIRouter(prefix="/simulator", tags=["simulator"])


class SimulatorMessage(BaseModel):
    """What the page posts: typed text, or the id of a pressed button."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=8, max_length=64, pattern=ID_PATTERN)
    text: str | None = Field(default=None, max_length=10_000)
    choice: str | None = Field(default=None, min_length=1, max_length=64, pattern=OPTION_PATTERN)
    # session + ":" + message_id must fit the 128-character provider id column.
    message_id: str | None = Field(default=None, min_length=1, max_length=63, pattern=ID_PATTERN)


def reply_json(reply: Reply) -> dict[str, Any]:
    """One reply as both media render it, so the page never re-implements rendering."""
    return {
        "key": reply.key,
        "sms": sms_text(reply),
        "html": rich_html(reply),
        "options": [{"id": o.id, "label": o.label} for o in reply.options],
        "direction": reply.direction,
        "action": reply.action,
    }


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
