"""SMS over Twilio: the inbound webhook, delivery reports and carrier keywords.

POST /sms/inbound takes Twilio's signed form webhook and answers with TwiML:
all of a turn's replies in one <Message> (see sms_replies). The MessageSid is
the provider id the engine dedupes on, so Twilio's retries change nothing and
get the same TwiML. Carrier words (STOP, START...) are handled here, before the
engine; a number that opted out gets nothing but an empty answer. Pictures and
other media are never downloaded: the person is told only text is read.

POST /sms/status records how each message we sent fared, and notes numbers
the carrier refuses (error 21610) as opted out.

Proactive texts (only those a person agreed to) go through `SmsSender`,
used by the worker's outbox.
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import phonenumbers
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.channels.sender_caps import over_cap
from bot.channels.sms_keywords import Keyword, carrier_keyword
from bot.channels.sms_replies import (
    delivery_ids,
    empty_twiml,
    message_bodies,
    plain_twiml,
    twiml,
)
from bot.channels.sms_sender import SmsSender
from bot.channels.twilio_signature import signed_form
from bot.engine import Engine
from bot.outbox import clear_opt_out, is_opted_out, record_opt_out
from bot.settings import Settings
from bot.storage.models import OutboundMessage
from bot.storage.replays import record_seen, seen_before
from bot.text import normalise
from bot.types import Inbound, Reply

__all__ = ["SmsSender", "router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/sms", tags=["sms"])

CHANNEL = "sms"
TWIML = "text/xml"
SID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_ADDRESS = 64
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Later states win; a late "sent" never overwrites "delivered".
STATUS_RANK = {
    "queued": 0,
    "accepted": 0,
    "scheduled": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "read": 4,
    "canceled": 3,
}
OPTED_OUT_ERROR = "21610"
TWILIO_KEYWORDS: dict[str, Keyword] = {"STOP": "opt_out", "START": "opt_in"}


def startup_line(settings: Settings) -> str:
    """The one line the app logs at start-up about this channel."""
    if not settings.sms_enabled:
        return (
            "SMS channel off: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM "
            "or TWILIO_MESSAGING_SERVICE_SID"
        )
    if not settings.public_base_url:
        return "SMS channel on at /sms/inbound, but refusing every request: set PUBLIC_BASE_URL"
    return "SMS channel on at /sms/inbound"


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


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def status_url(engine: Engine) -> str:
    return engine.settings.public_base_url.rstrip("/") + "/sms/status"


def answer_text(engine: Engine, text: TextIn, now: datetime) -> str:
    """The TwiML answer to one inbound text (blocking: runs in a worker thread).

    A MessageSid handled before is never run again: a turn the engine answered
    gets its stored answer while that is cached; anything else gets only
    what changes nothing (see `_repeat`)."""
    seen = seen_before(engine.db, engine.vault, CHANNEL, text.message_sid)
    if seen is not None and not seen.cached:
        return _repeat(engine, text, now, seen.at)
    answer, handled = _answer(engine, text, now, counted=seen is None)
    if handled and seen is None:
        try:
            record_seen(engine.db, engine.vault, CHANNEL, text.message_sid, now)
        except DBAPIError:
            log.error("SMS: MessageSid not recorded: database unavailable")
    return answer


def _repeat(engine: Engine, text: TextIn, now: datetime, first: datetime) -> str:
    """A text handled before outside the engine's cache. Within the answer-cache
    time it is Twilio's retry: the emergency guidance or "I can only read
    text" again (their delivery records are found, not made), nothing else
    runs. Later it is a captured request replayed: an empty answer."""
    if now - first >= timedelta(hours=engine.settings.message_retention_hours):
        log.warning("SMS: an old MessageSid came again; nothing run")
        return empty_twiml()
    replies: list[Reply] = []
    if engine.screen.read(text.body).has("danger_now"):
        replies = [r for r in engine.failure_replies(text.body) if r.key == "words.danger"]
    if text.media:
        replies.append(engine.notice(CHANNEL, text.sender, "channels.only_text"))
    return _render(engine, text, replies, now)


def _answer(engine: Engine, text: TextIn, now: datetime, counted: bool) -> tuple[str, bool]:
    """The TwiML, and whether the text was really handled (not answered from
    memory because storage was away, which a retry should handle properly)."""
    settings = engine.settings
    vault = engine.vault
    keyword = carrier_keyword(text.body) or TWILIO_KEYWORDS.get(text.opt_out_type)
    with engine.db.session() as session:
        opted_out = is_opted_out(session, vault, text.sender)
        if keyword == "opt_out":
            record_opt_out(session, vault, text.sender, "keyword", now)
        elif keyword == "opt_in" and opted_out:
            clear_opt_out(session, vault, text.sender)
        session.commit()
    notice: str | None = None
    if keyword == "opt_out":
        notice = "channels.opted_out"
    elif opted_out:
        if keyword != "opt_in":
            return empty_twiml(), True  # Twilio would refuse to deliver anything (21610)
        notice = "channels.opted_in"
    if notice is not None:
        if settings.twilio_handles_opt_out:
            return empty_twiml(), True  # Twilio sends the carrier's own confirmation
        return _render(engine, text, [engine.notice(CHANNEL, text.sender, notice)], now), True

    capped = over_cap(engine, CHANNEL, text.sender, text.body, now) if counted else None
    if capped is not None:  # a flood: not run through the engine
        return _render(engine, text, capped.replies, now), True
    replies: list[Reply] = []
    if text.media:
        replies.append(engine.notice(CHANNEL, text.sender, "channels.only_text"))
        if not normalise(text.body):
            return _render(engine, text, replies, now), True
    turn = engine.handle_turn(
        Inbound(
            channel=CHANNEL,
            address=text.sender,
            text=text.body,
            message_id=text.message_sid,
            received_at=now,
            address_is_phone=is_phone_number(text.sender),
        )
    )
    return _render(engine, text, replies + turn.replies, now), not turn.transient


def _render(engine: Engine, text: TextIn, replies: list[Reply], now: datetime) -> str:
    bodies = message_bodies(replies)
    if not bodies:
        return empty_twiml()
    person = engine.vault.person_key("sms", text.sender)
    try:
        ids = delivery_ids(engine.db, person, text.message_sid, bodies, now)
    except DBAPIError:
        # The answer is made; only its delivery record could not be kept.
        log.error("SMS delivery records not stored: database unavailable")
        return plain_twiml(bodies)
    return twiml(bodies, ids, status_url(engine))


def answer_without_storage(engine: Engine, text: TextIn, outage: bool) -> str:
    """TwiML made from memory when storage fails: the person is never left in
    silence, and danger always gets the emergency guidance."""
    replies = (engine.outage_replies if outage else engine.failure_replies)(text.body)
    return plain_twiml(message_bodies(replies))


@router.post("/inbound")
async def inbound(request: Request, now: ArrivedAt) -> Response:
    engine = _engine(request)
    form = await signed_form(request, engine.settings)
    text = parse_inbound(form, engine.settings.twilio_account_sid)
    try:
        answer = await run_in_threadpool(answer_text, engine, text, now)
    except DBAPIError:
        log.error("SMS answered from memory: database unavailable")
        answer = answer_without_storage(engine, text, outage=True)
    except Exception as fault:  # noqa: BLE001 - never a stack trace or silence for a person
        # The kind only: an exception's text could quote the message.
        log.error("SMS answered from memory after a fault: %s", type(fault).__name__)
        answer = answer_without_storage(engine, text, outage=False)
    return Response(answer, media_type=TWIML)


# ----- delivery reports ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusReport:
    reply_id: int | None
    message_sid: str
    status: str
    error_code: str | None
    to: str


def parse_status(form: FormData, reply: str | None) -> StatusReport:
    status = normalise(str(form.get("MessageStatus") or form.get("SmsStatus") or ""))
    code = str(form.get("ErrorCode") or "").strip()
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "").strip()
    return StatusReport(
        reply_id=int(reply) if reply and reply.isdigit() and len(reply) < 12 else None,
        message_sid=sid if SID.match(sid) else "",
        status=status if status in STATUS_RANK else "",
        error_code=code[:20] if code and code != "0" else None,
        to=str(form.get("To") or "").strip()[:MAX_ADDRESS],
    )


# How many delivery reports named no message of ours (logged as a count only).
_unknown_reports = itertools.count(1)


def record_status(engine: Engine, report: StatusReport, now: datetime) -> bool:
    """Update the delivery record a report is about; False when there is none."""
    with engine.db.session() as session:
        row = None
        if report.reply_id is not None:
            row = session.get(OutboundMessage, report.reply_id)
        if row is None and report.message_sid:
            row = (
                session.execute(
                    select(OutboundMessage)
                    .where(OutboundMessage.channel == "sms")
                    .where(OutboundMessage.provider_id == report.message_sid)
                    .order_by(OutboundMessage.id)
                )
                .scalars()
                .first()
            )
        if row is None or row.channel != "sms":
            session.commit()
            return False
        if report.status and STATUS_RANK[report.status] >= STATUS_RANK.get(row.status, 0):
            row.status = report.status
        if report.message_sid and not row.provider_id:
            row.provider_id = report.message_sid
        if report.error_code:
            row.error_code = report.error_code
        row.updated_at = now
        session.add(row)
        if report.error_code == OPTED_OUT_ERROR and report.to:
            record_opt_out(session, engine.vault, report.to, "carrier", now)
        session.commit()
    return True


@router.post("/status")
async def status(request: Request, now: ArrivedAt) -> Response:
    engine = _engine(request)
    form = await signed_form(request, engine.settings)
    report = parse_status(form, request.query_params.get("reply"))
    found = await run_in_threadpool(record_status, engine, report, now)
    if not found:
        log.info("delivery reports for unknown messages so far: %d", next(_unknown_reports))
    return Response(empty_twiml(), media_type=TWIML)
