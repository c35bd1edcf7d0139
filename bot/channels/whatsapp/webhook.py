"""POST /whatsapp/inbound and /whatsapp/status: Twilio's WhatsApp webhooks.

Both are the SMS channel's handlers (bot/channels/sms/), signed, parsed and
answered the same way: one turn per MessageSid (a retry gets the same TwiML,
a replay runs nothing), STOP and START before the engine, the flood cap, "I
can only read text" for media, delivery records per reply. What differs is in
`WHATSAPP`: the channel's name, its status path, how a reply is written, and
that Front Door confirms STOP and START itself (Twilio's opt-out handling is
for SMS). A TwiML answer is a reply inside WhatsApp's 24-hour window, which
the person's own message has just opened, so it may be free-form.

That message also opens the window for a worker's line that waited as
"notified" (only the neutral notice template went: bot/channels/whatsapp/send.py):
it is queued now and leaves with the web app's next live-chat round.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError

from bot.channels.sms.inbound import ArrivedAt
from bot.channels.sms.render import TWIML
from bot.channels.sms.status import report_status
from bot.channels.sms.verify import signed_form
from bot.channels.sms.webhook import TwilioChannel, answer
from bot.channels.whatsapp.inbound import parse_whatsapp
from bot.channels.whatsapp.render import whatsapp_text
from bot.engine import Engine
from bot.settings import Settings
from bot.storage import chats
from bot.text import normalise

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
STATUS_PATH = "/whatsapp/status"

router = APIRouter(prefix="/whatsapp", tags=["whatsapp"])


def _we_confirm(_settings: Settings) -> bool:
    return False


WHATSAPP = TwilioChannel(
    name=CHANNEL,
    status_path=STATUS_PATH,
    render=whatsapp_text,
    provider_confirms_opt_out=_we_confirm,
)


def _engine(request: Request) -> Engine:
    return request.app.state.engine


@router.post("/inbound")
async def inbound(request: Request, now: ArrivedAt) -> Response:
    engine = _engine(request)
    form = await signed_form(request, engine.settings)
    text = parse_whatsapp(form, engine.settings.twilio_account_sid)
    reply = await answer(engine, text, now, WHATSAPP)
    leaving = engine.words.command(normalise(text.body)) == "exit"
    try:
        released = await asyncio.to_thread(_held_lines, engine, text.sender, now, leaving)
    except DBAPIError:
        released = 0  # the lines stay held; the person's next message tries again
        log.error("WhatsApp: held chat lines not released: database unavailable")
    if released:
        delivery = getattr(request.app.state, "chat_delivery", None)
        if delivery is not None:
            delivery.wake()
    return Response(reply, media_type=TWIML)


def _held_lines(engine: Engine, number: str, now: datetime, leaving: bool) -> int:
    """Queue a worker's lines held for this person's reply (see the module's
    note); after EXIT drop them instead. How many were queued."""
    key = engine.vault.person_key(CHANNEL, number)
    with engine.db.session() as session:
        if leaving:
            chats.drop_notified(session, engine.vault, key, now)
            released = 0
        else:
            released = chats.release_notified(session, engine.vault, key, now)
        session.commit()
    return released


@router.post("/status")
async def status(request: Request, now: ArrivedAt) -> Response:
    return await report_status(request, now, CHANNEL)
