"""Test helpers for WhatsApp through Twilio: an engine with a WhatsApp sender,
the form Twilio posts for a WhatsApp message, and `WhatsAppChat`, the conftest
`Chat` driven through the real POST /whatsapp/inbound (tests/sms_support's
`TwilioChat`, with WhatsApp's form and rendering)."""

from __future__ import annotations

from bot.channels.whatsapp.render import whatsapp_text
from bot.engine import Engine
from bot.types import Reply
from tests.sms_support import SERVICE_NUMBER, Sent, TwilioChat, inbound_params, new_sid
from tests.sms_support import sms_engine as twilio_engine

NUMBER = "+447700900123"
WA_NUMBER = f"whatsapp:{NUMBER}"
WA_SERVICE = f"whatsapp:{SERVICE_NUMBER}"
TEMPLATE = "HX" + "a" * 32


def whatsapp_engine(engine: Engine, **overrides: object) -> Engine:
    """An engine on the same database with Twilio and a WhatsApp sender set."""
    settings = {
        "whatsapp_from": WA_SERVICE,
        "whatsapp_text_before_call_content_sid": TEMPLATE,
        **overrides,
    }
    return twilio_engine(engine, **settings)


def whatsapp_params(
    text: str, sid: str | None = None, number: str = NUMBER, **extra: str
) -> dict[str, str]:
    """The form Twilio posts for a WhatsApp message from `number`."""
    params = inbound_params(text, f"whatsapp:{number}", sid or new_sid(), **extra)
    params.update(To=WA_SERVICE, MessageType="text", ProfileName="Sam", WaId=number[1:])
    params.pop("ToCountry")
    return {**params, **extra}


class WhatsAppChat(TwilioChat):
    """A person on WhatsApp: every reply in one message, in its full spelling."""

    path = "/whatsapp/inbound"
    status_path = "/whatsapp/status"

    def __init__(self, engine: Engine, number: str = NUMBER) -> None:
        super().__init__(engine, channel="whatsapp", address=number)

    def params(self, text: str, sid: str, **extra: str) -> dict[str, str]:
        return whatsapp_params(text, sid, self.address, **extra)

    def check_shown(self, messages: list[Sent], replies: list[Reply]) -> None:
        expected = "\n\n".join(whatsapp_text(self.engine, r) for r in replies)
        assert [m.body for m in messages] == [expected]  # one message, full spelling
