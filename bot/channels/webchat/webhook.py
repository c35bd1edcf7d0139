"""The web chat's routes: the page (/chat), its no-script form posts, the widget
script for partner sites, and the JSON routes the page's script calls.

Every message goes through the same engine as SMS and Telegram, under the
"webchat" channel, in one transaction with its caps (per session and per
client address). The page's own message id makes a retried request (a flaky
connection, a form sent twice) a repeat the engine answers from storage.
Nothing here logs a token, an address or a word anyone typed.
"""

from __future__ import annotations

import html
import json
import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.core import negotiate_locale
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from bot.channels.mailbox import collect, drop_waiting
from bot.channels.sender_caps import NOTICE, over_cap
from bot.channels.webchat.config import WebchatConfig, page_policy
from bot.channels.webchat.inbound import (
    CHANNEL,
    MessageIn,
    PollIn,
    TokenIn,
    command_of,
    issue_token,
    session_of,
)
from bot.channels.webchat.limits import busy_replies, may_start_chat, over_address_cap
from bot.channels.webchat.render import for_page, page_words, reply_json
from bot.engine import Engine, TurnHooks
from bot.types import Inbound, Reply

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=PACKAGE / "templates")
WIDGET_SOURCE = PACKAGE / "templates" / "widget.js"
STATIC_DIR = PACKAGE / "static"

MAX_BODY_BYTES = 32 * 1024  # a message is at most 2,000 characters


def small_body(request: Request) -> None:
    """Refuse a post too large (or of unknown size) before it is read: the page
    and its form always say how long their body is."""
    if request.method != "POST":
        return
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
        raise HTTPException(status_code=413)


router = APIRouter(prefix="/chat", tags=["webchat"], dependencies=[Depends(small_body)])


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _config(request: Request) -> WebchatConfig:
    return request.app.state.webchat


def _client(request: Request) -> str:
    """The client address uvicorn gives (X-Forwarded-For only from listed proxies)."""
    return request.client.host if request.client else "unknown"


def page_locale(engine: Engine, asked: str | None, accept_language: str) -> str:
    """The page's language: the one asked for if shipped, else the browser's."""
    if asked:
        base = asked.replace("_", "-").split("-")[0].lower()
        if base in engine.locales:
            return base
    wanted = [part.split(";")[0].strip().lower() for part in accept_language.split(",")]
    codes = [code.replace("_", "-").split("-")[0] for code in wanted if code]
    return negotiate_locale(codes, engine.locales) or engine.settings.default_locale


# ----- one turn -------------------------------------------------------------


def run_turn(
    engine: Engine,
    session_id: str,
    message: MessageIn,
    locale: str,
    client: str,
    now: datetime,
    *,
    exiting: bool = False,
) -> list[Reply]:
    """One message through the engine (blocking: runs in a worker thread), with
    the caps inside the turn's own transaction and, on EXIT, whatever waited
    for the page deleted in it too."""
    text = "" if exiting else message.text
    command = "exit" if exiting else command_of(message.command)

    def before(session: Session, person: str) -> list[Reply] | None:
        capped = over_address_cap(engine, session, client, text, locale, now, exiting=exiting)
        if capped is not None:
            return capped
        over = over_cap(
            engine,
            CHANNEL,
            session_id,
            text,
            now,
            command=command,
            locale_hint=locale,
            session=session,
            person=person,
        )
        if over is None:
            return None
        # A page must never wait in silence: "slow down" again, not nothing.
        return over.replies or [engine.notice_in(session, person, NOTICE, locale)]

    def after(session: Session, person: str, replies: list[Reply]) -> None:
        if exiting or any(reply.action == "quick_exit" for reply in replies):
            drop_waiting(session, CHANNEL, person)

    turn = engine.handle_turn(
        Inbound(
            channel=CHANNEL,
            address=session_id,
            text=text,
            message_id=f"{session_id}:{message.id}",
            received_at=now,
            choice=None if exiting else message.choice,
            locale_hint=locale,
            command=command,
        ),
        TurnHooks(before=before, after=after),
    )
    return turn.replies


async def _answer(
    request: Request, message: MessageIn, locale: str
) -> tuple[int, str | None, list[Reply]]:
    """Status, the (possibly new) token, and the replies for one message."""
    engine = _engine(request)
    now = datetime.now(UTC)
    client = _client(request)
    try:
        session_id = session_of(engine.vault, message.token)
        token = message.token if session_id is not None else None
        if session_id is None:
            if not await run_in_threadpool(may_start_chat, engine, client, now):
                return 429, None, busy_replies(engine, locale)
            token, session_id = issue_token(engine.vault)
        replies = await run_in_threadpool(
            run_turn, engine, session_id, message, locale, client, now
        )
    except Exception as fault:  # noqa: BLE001 - never a stack trace or silence for a person
        log.error("web chat answered from memory after a fault: %s", type(fault).__name__)
        return 200, message.token, engine.outage_replies(message.text, locale)
    return 200, token, replies


async def _exit(request: Request, token: str | None) -> None:
    """End the conversation as EXIT does; nothing to answer."""
    engine = _engine(request)
    try:
        session_id = session_of(engine.vault, token)
        if session_id is None:
            return
        message = MessageIn(id=secrets.token_hex(8), token=token)
        await run_in_threadpool(
            run_turn,
            engine,
            session_id,
            message,
            engine.settings.default_locale,
            _client(request),
            datetime.now(UTC),
            exiting=True,
        )
    except Exception as fault:  # noqa: BLE001 - the page has gone already; log the kind only
        log.error("web chat exit not recorded: %s", type(fault).__name__)


# ----- the page and its no-script form ----------------------------------------


def _page(
    request: Request,
    locale: str,
    *,
    embed: bool = False,
    token: str | None = None,
    said: str | None = None,
    replies: list[Reply] | None = None,
    status: int = 200,
) -> HTMLResponse:
    engine = _engine(request)
    config = _config(request)
    words = page_words(engine.content, locale)
    direction = engine.content.reply("webchat.title", locale, options=[]).direction
    shown = [reply_json(for_page(engine.content, r)) for r in replies or []]
    response = templates.TemplateResponse(
        request,
        "chat.html",
        {
            "locale": locale,
            "dir": direction,
            "words": words,
            "words_json": json.dumps(words, ensure_ascii=False).replace("<", "\\u003c"),
            "exit_url": config.exit_url,
            "embed": embed,
            "token": token or "",
            "mid": secrets.token_urlsafe(12),
            "said": said,
            "replies": shown,
            "options": next((r["options"] for r in reversed(shown) if r["options"]), []),
        },
        status_code=status,
    )
    response.headers["Content-Security-Policy"] = page_policy(config)
    return response


@router.get("", response_class=HTMLResponse)
def page(request: Request, lang: str | None = None, embed: int = 0) -> HTMLResponse:
    locale = page_locale(_engine(request), lang, request.headers.get("accept-language", ""))
    return _page(request, locale, embed=bool(embed))


@router.post("", response_class=HTMLResponse)
async def form_message(request: Request) -> HTMLResponse:
    """The page without script: a plain form post, answered with the page."""
    engine = _engine(request)
    form = await request.form()
    fields = {k: str(form.get(k) or "") or None for k in ("token", "id", "choice", "command")}
    locale = page_locale(engine, str(form.get("lang") or ""), "")
    embed = str(form.get("embed") or "") == "1"
    try:
        message = MessageIn(
            token=fields["token"],
            id=fields["id"] or "",
            text=str(form.get("text") or ""),
            choice=fields["choice"],
            command=fields["command"],
            lang=locale,
        )
    except ValidationError:
        invalid = engine.content.reply("web.invalid", locale, options=[])
        return _page(request, locale, embed=embed, token=fields["token"], replies=[invalid])
    status, token, replies = await _answer(request, message, locale)
    said = message.text.strip() or None
    return _page(
        request, locale, embed=embed, token=token, said=said, replies=replies, status=status
    )


@router.post("/exit")
async def form_exit(request: Request) -> Response:
    """Exit without script: end the chat, then on to the neutral site."""
    form = await request.form()
    await _exit(request, str(form.get("token") or "") or None)
    return RedirectResponse(_config(request).exit_url, status_code=303)


@router.get("/theme.css")
def theme(request: Request) -> Response:
    colours = _config(request).colours
    body = (
        ":root{"
        + "".join(f"--{name.replace('_', '-')}:{value};" for name, value in colours.items())
        + "}\n"
    )
    return Response(body, media_type="text/css")


@router.get("/widget.js")
def widget(request: Request) -> Response:
    """The one-line embed for partner sites, with this service's settings in it."""
    engine = _engine(request)
    config = _config(request)
    labels = {
        locale: {name: engine.content.text(f"webchat.{name}", locale) for name in WIDGET_WORDS}
        for locale in engine.locales
    }
    settings: dict[str, Any] = {
        "origins": list(config.allowed_origins),
        "exit": config.exit_url,
        "colours": config.colours,
        "labels": labels,
        "dirs": {
            locale: engine.content.reply("webchat.open", locale, options=[]).direction
            for locale in engine.locales
        },
    }
    source = WIDGET_SOURCE.read_text(encoding="utf-8")
    script = source.replace("__FRONTDOOR_SETTINGS__", json.dumps(settings, ensure_ascii=True))
    return Response(script, media_type="text/javascript")


WIDGET_WORDS = ("open", "close", "exit", "title")


# ----- the script's routes ------------------------------------------------------


@router.post("/api/messages")
async def api_message(body: MessageIn, request: Request) -> JSONResponse:
    engine = _engine(request)
    locale = page_locale(engine, body.lang, "")
    status, token, replies = await _answer(request, body, locale)
    shown = [reply_json(for_page(engine.content, r)) for r in replies]
    return JSONResponse({"token": token, "replies": shown}, status_code=status)


@router.post("/api/exit", status_code=204)
async def api_exit(body: TokenIn, request: Request) -> Response:
    await _exit(request, body.token)
    return Response(status_code=204)


@router.post("/api/poll")
async def api_poll(body: PollIn, request: Request) -> JSONResponse:
    engine = _engine(request)
    session_id = session_of(engine.vault, body.token)
    if session_id is None:
        return JSONResponse({"messages": []})
    person = engine.vault.person_key(CHANNEL, session_id)
    try:
        found = await run_in_threadpool(
            collect, engine.db, engine.vault, CHANNEL, person, body.after, datetime.now(UTC)
        )
    except Exception as fault:  # noqa: BLE001 - the page asks again later
        log.error("web chat poll failed: %s", type(fault).__name__)
        found = []
    messages = [{"id": m["id"], "html": html.escape(str(m["text"]), quote=False)} for m in found]
    return JSONResponse({"messages": messages})
