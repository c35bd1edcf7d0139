"""What comes in from Twilio's WhatsApp webhook.

Twilio posts WhatsApp messages in the same signed form as SMS, so the SMS
channel's parser refuses whatever Twilio would never send; only the address
differs: `whatsapp:+447700900123`. The engine gets the number alone under the
channel "whatsapp", so a person on WhatsApp is a different person from the
same number by SMS (their own conversation, opt-out and 24-hour window), and
"call this number" offers the number they write from.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from fastapi import HTTPException
from starlette.datastructures import FormData

from bot.channels.sms.inbound import TextIn, is_phone_number, parse_inbound

log = logging.getLogger(__name__)

PREFIX = "whatsapp:"
# What WhatsApp calls a message that is words (a typed text, a pressed reply
# button); anything else (a location, a contact card, a sticker) is refused
# like a picture, without being opened.
TEXT_TYPES = frozenset({"", "text", "button", "interactive"})


def parse_whatsapp(form: FormData, account_sid: str) -> TextIn:
    """The message, with the sender as a bare E.164 number; 400 for anything
    that is not a WhatsApp message from a phone number."""
    text = parse_inbound(form, account_sid)
    number = text.sender.removeprefix(PREFIX)
    if not text.sender.startswith(PREFIX) or not is_phone_number(number):
        log.warning("WhatsApp webhook unusable: no usable whatsapp: sender")
        raise HTTPException(status_code=400)
    kind = str(form.get("MessageType") or "").strip().lower()
    located = bool(form.get("Latitude") or form.get("Longitude"))
    media = text.media or int(located or kind not in TEXT_TYPES)
    return replace(text, sender=number, media=media)


def whatsapp_address(address: str) -> str:
    """The address Twilio sends to, from a number as the engine knows it
    (+44...) or an address already written Twilio's way (whatsapp:+44...)."""
    return address if address.startswith(PREFIX) else PREFIX + address
