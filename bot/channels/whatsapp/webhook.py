"""POST /whatsapp/inbound and /whatsapp/status: Twilio's WhatsApp webhooks.

Both are the SMS channel's handlers (bot/channels/sms/), signed, parsed and
answered the same way: one turn per MessageSid (a retry gets the same TwiML,
a replay runs nothing), STOP and START before the engine, the flood cap, "I
can only read text" for media, delivery records per reply. What differs is in
`WHATSAPP`: the channel's name, its status path, how a reply is written, and
that Front Door confirms STOP and START itself (Twilio's opt-out handling is
for SMS). A TwiML answer is a reply inside WhatsApp's 24-hour window, which
the person's own message has just opened, so it may be free-form.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bot.channels.sms.inbound import ArrivedAt
from bot.channels.sms.render import TWIML
from bot.channels.sms.status import report_status
from bot.channels.sms.verify import signed_form
from bot.channels.sms.webhook import TwilioChannel, answer
from bot.channels.whatsapp.inbound import parse_whatsapp
from bot.channels.whatsapp.render import whatsapp_text
from bot.engine import Engine
from bot.settings import Settings

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
    return Response(await answer(engine, text, now, WHATSAPP), media_type=TWIML)


@router.post("/status")
async def status(request: Request, now: ArrivedAt) -> Response:
    return await report_status(request, now, CHANNEL)
