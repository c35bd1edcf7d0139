"""What comes in from Twilio: the webhook's form read, refusing anything Twilio
would never send, and when it arrived.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import phonenumbers
from fastapi import Depends, HTTPException
from starlette.datastructures import FormData

log = logging.getLogger(__name__)

SID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_ADDRESS = 64
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def received_at() -> datetime:
    """When a message arrived (Twilio's webhook carries no time of its own)."""
    return datetime.now(UTC)


ArrivedAt = Annotated[datetime, Depends(received_at)]


@dataclass(frozen=True, slots=True)
class TextIn:
    """The parts of Twilio's webhook the front door uses."""

    sender: str
    message_sid: str
    body: str
    media: int
    # Twilio's Advanced Opt-Out names the keywords it matched ("STOP", "START",
    # "HELP"), including any custom ones (other languages) set in the console.
    opt_out_type: str = ""


def _bad_request(reason: str) -> HTTPException:
    log.warning("SMS webhook unusable: %s", reason)
    return HTTPException(status_code=400)


INBOUND_SID = re.compile(r"^(SM|MM)[0-9a-f]{32}$")  # Twilio's message sids, exactly
MAX_MEDIA = 10  # Twilio sends at most ten media items with one message
HEADER_SAFE_FIELDS = ("From", "To", "MessageSid", "SmsMessageSid", "AccountSid", "OptOutType")


def parse_inbound(form: FormData, account_sid: str = "") -> TextIn:
    """The fields of Twilio's webhook, refusing anything Twilio would never send:
    a signature proves who sent a request, these checks that it is whole."""
    sender = str(form.get("From") or "").strip()
    sid = str(form.get("MessageSid") or form.get("SmsMessageSid") or "").strip()
    if not sender or len(sender) > MAX_ADDRESS:
        raise _bad_request("no usable From")
    if not SID.match(sid) or (account_sid and not INBOUND_SID.match(sid)):
        raise _bad_request("no usable MessageSid")
    if account_sid and str(form.get("AccountSid") or "") != account_sid:
        raise _bad_request("not for this account")
    if any(
        "\r" in str(form.get(k) or "") or "\n" in str(form.get(k) or "") for k in HEADER_SAFE_FIELDS
    ):
        raise _bad_request("a line break where none belongs")
    count = str(form.get("NumMedia") or "0").strip()
    if not count.isdigit() or int(count) > MAX_MEDIA:
        raise _bad_request("unusable NumMedia")
    media = int(count)
    if not media and any(str(key).startswith("MediaUrl") for key in form):
        media = 1
    opt_out_type = str(form.get("OptOutType") or "").strip().upper()
    return TextIn(sender, sid, str(form.get("Body") or ""), media, opt_out_type)


def is_phone_number(address: str) -> bool:
    """True for an E.164 number we could call back; not for short codes or names."""
    if not E164.match(address):
        return False
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(address, None))
    except phonenumbers.NumberParseException:
        return False
