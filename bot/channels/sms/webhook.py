"""POST /sms/inbound: Twilio's signed form webhook, answered with TwiML.

All of a turn's replies go in one <Message> (see render). The MessageSid is
the provider id the engine dedupes on, so Twilio's retries change nothing and
get the same TwiML. Carrier words (STOP, START...) are handled here, before the
engine; a number that opted out gets nothing but an empty answer. Pictures and
other media are never downloaded: the person is told only text is read.

WhatsApp reaches us through the same Twilio webhook, signed and shaped the
same way: `answer_text` takes a `TwilioChannel` saying the few things that
differ (the channel's name, its status path, how a reply is written, who
confirms STOP), so both channels share one implementation of these rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from bot.channels.render import sms_text
from bot.channels.sender_caps import over_cap
from bot.channels.sms.inbound import (
    ArrivedAt,
    TextIn,
    is_phone_number,
    parse_inbound,
)
from bot.channels.sms.keywords import Keyword, carrier_keyword
from bot.channels.sms.render import (
    TWIML,
    delivery_ids,
    delivery_ids_in,
    empty_twiml,
    message_bodies,
    plain_twiml,
    twiml,
)
from bot.channels.sms.verify import signed_form
from bot.engine import Engine, TurnHooks
from bot.outbox import clear_opt_out, is_opted_out, record_opt_out
from bot.settings import Settings
from bot.storage.replays import Seen, message_key, record_seen, record_seen_in, seen_in
from bot.text import normalise
from bot.types import Inbound, Reply

log = logging.getLogger(__name__)

router = APIRouter(prefix="/sms", tags=["sms"])

CHANNEL = "sms"
TWILIO_KEYWORDS: dict[str, Keyword] = {"STOP": "opt_out", "START": "opt_in"}


def _sms_render(_engine: Engine, reply: Reply) -> str:
    return sms_text(reply)


def _twilio_confirms(settings: Settings) -> bool:
    return settings.twilio_handles_opt_out


@dataclass(frozen=True, slots=True)
class TwilioChannel:
    """What differs between the channels Twilio brings to a webhook of this shape."""

    name: str  # the engine's channel name: person keys, message ids, delivery rows
    status_path: str  # where Twilio reports how each reply fared
    # One reply as the provider shows it (SMS: GSM-7 plain text, numbered options).
    render: Callable[[Engine, Reply], str] = _sms_render
    # True when the provider answers STOP and START itself, so we stay quiet.
    provider_confirms_opt_out: Callable[[Settings], bool] = _twilio_confirms


SMS = TwilioChannel(name=CHANNEL, status_path="/sms/status")


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def status_url(engine: Engine, channel: TwilioChannel = SMS) -> str:
    return engine.settings.public_base_url.rstrip("/") + channel.status_path


def _bodies(engine: Engine, channel: TwilioChannel, replies: list[Reply]) -> list[str]:
    return message_bodies(replies, render=partial(channel.render, engine))


@dataclass(slots=True)
class _Answer:
    """What the turn's hooks leave behind for the TwiML."""

    checked: bool = False  # the MessageSid was looked up
    sid_key: str = ""  # its keyed hash, computed once
    seen: Seen | None = None
    early: bool = False  # answered before the engine (opt-out, flood, a repeat...)
    prefix: list[Reply] = field(default_factory=list)  # "I can only read text"
    bodies: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)


def answer_text(engine: Engine, text: TextIn, now: datetime, channel: TwilioChannel = SMS) -> str:
    """The TwiML answer to one inbound text (blocking: runs in a worker thread),
    all in the turn's one transaction: the MessageSid looked up, the opt-out
    words, the flood count, the turn, the delivery records and the id's record.

    A MessageSid handled before is never run again: a turn the engine answered
    gets its stored answer while that is cached; anything else gets only
    what changes nothing (see `_repeat`)."""
    state = _Answer()

    def before(session: Session, person: str) -> list[Reply] | None:
        return _before(engine, channel, text, now, session, person, state)

    def after(session: Session, person: str, replies: list[Reply]) -> None:
        _after(engine, channel, text, now, session, person, replies, state)

    turn = engine.handle_turn(
        Inbound(
            channel=channel.name,
            address=text.sender,
            text=text.body,
            message_id=text.message_sid,
            received_at=now,
            address_is_phone=is_phone_number(text.sender),
        ),
        TurnHooks(before=before, after=after),
    )
    if not (turn.replayed or turn.transient or turn.failed):  # the transaction held
        if not state.bodies:
            return empty_twiml()
        return twiml(state.bodies, state.ids, status_url(engine, channel))
    # A retry of a cached answer, storage away, or a fault: as before the hooks.
    answer = _render(engine, text, state.prefix + turn.replies, now, channel)
    if not turn.transient and state.checked and state.seen is None:
        try:
            record_seen(engine.db, engine.vault, channel.name, text.message_sid, now)
        except DBAPIError:
            log.error("%s: MessageSid not recorded: database unavailable", channel.name)
    return answer


def _before(
    engine: Engine,
    channel: TwilioChannel,
    text: TextIn,
    now: datetime,
    session: Session,
    person: str,
    state: _Answer,
) -> list[Reply] | None:
    """Inside the turn's transaction, before the conversation: replies here are
    the whole answer (a repeat, the carrier's words, a flood, only a picture)."""
    state.sid_key = message_key(engine.vault, channel.name, text.message_sid)
    state.seen = seen_in(session, engine.vault, channel.name, text.message_sid, key=state.sid_key)
    state.checked = True
    if state.seen is not None and not state.seen.cached:
        state.early = True
        return _repeat(engine, text, now, state.seen.at, session, person)
    answer = _opt_words(engine, channel, text, now, session, person)
    if answer is not None:
        state.early = True
        return answer
    if state.seen is None:
        capped = over_cap(
            engine, channel.name, text.sender, text.body, now, session=session, person=person
        )
        if capped is not None:  # a flood: not run through the engine
            state.early = True
            return capped.replies
    if text.media:
        state.prefix = [engine.notice_in(session, person, "channels.only_text")]
        if not normalise(text.body):
            state.early = True
            return state.prefix
    return None


def _after(
    engine: Engine,
    channel: TwilioChannel,
    text: TextIn,
    now: datetime,
    session: Session,
    person: str,
    replies: list[Reply],
    state: _Answer,
) -> None:
    """Inside the turn's transaction, before its commit: the delivery records
    and, for a new MessageSid, the record that it was handled."""
    state.bodies = _bodies(engine, channel, replies if state.early else state.prefix + replies)
    if state.bodies:
        state.ids = delivery_ids_in(
            session,
            engine.db.is_postgres,
            person,
            text.message_sid,
            state.bodies,
            now,
            channel=channel.name,
        )
    if state.seen is None:
        record_seen_in(
            session,
            engine.db.is_postgres,
            engine.vault,
            channel.name,
            text.message_sid,
            now,
            key=state.sid_key,
        )


def _repeat(
    engine: Engine, text: TextIn, now: datetime, first: datetime, session: Session, person: str
) -> list[Reply]:
    """A text handled before outside the engine's cache. Within the answer-cache
    time it is Twilio's retry: the emergency guidance or "I can only read
    text" again (their delivery records are found, not made), nothing else
    runs. Later it is a captured request replayed: an empty answer."""
    if now - first >= timedelta(hours=engine.settings.message_retention_hours):
        log.warning("Twilio webhook: an old MessageSid came again; nothing run")
        return []
    replies: list[Reply] = []
    if engine.screen.read(text.body).has("danger_now"):
        replies = [r for r in engine.failure_replies(text.body) if r.key == "words.danger"]
    if text.media:
        replies.append(engine.notice_in(session, person, "channels.only_text"))
    return replies


def _opt_words(
    engine: Engine,
    channel: TwilioChannel,
    text: TextIn,
    now: datetime,
    session: Session,
    person: str,
) -> list[Reply] | None:
    """STOP and START (the carrier's words): the answer, or None to go on.
    An opted-out number gets nothing: Twilio would refuse to deliver it (21610)."""
    vault = engine.vault
    keyword = carrier_keyword(text.body) or TWILIO_KEYWORDS.get(text.opt_out_type)
    # The person key is the address's opt-out key too (both keyed on the channel).
    opted_out = is_opted_out(session, vault, text.sender, key=person)
    if keyword == "opt_out":
        record_opt_out(session, vault, text.sender, "keyword", now, key=person)
    elif keyword == "opt_in" and opted_out:
        clear_opt_out(session, vault, text.sender, key=person)
    notice: str | None = None
    if keyword == "opt_out":
        notice = "channels.opted_out"
    elif opted_out:
        if keyword != "opt_in":
            return []
        notice = "channels.opted_in"
    if notice is None:
        return None
    if channel.provider_confirms_opt_out(engine.settings):
        return []  # Twilio sends the carrier's own confirmation
    return [engine.notice_in(session, person, notice)]


def _render(
    engine: Engine, text: TextIn, replies: list[Reply], now: datetime, channel: TwilioChannel = SMS
) -> str:
    bodies = _bodies(engine, channel, replies)
    if not bodies:
        return empty_twiml()
    person = engine.vault.person_key(channel.name, text.sender)
    try:
        ids = delivery_ids(engine.db, person, text.message_sid, bodies, now, channel=channel.name)
    except DBAPIError:
        # The answer is made; only its delivery record could not be kept.
        log.error("%s delivery records not stored: database unavailable", channel.name)
        return plain_twiml(bodies)
    return twiml(bodies, ids, status_url(engine, channel))


def answer_without_storage(
    engine: Engine, text: TextIn, outage: bool, channel: TwilioChannel = SMS
) -> str:
    """TwiML made from memory when storage fails: the person is never left in
    silence, and danger always gets the emergency guidance."""
    replies = (engine.outage_replies if outage else engine.failure_replies)(text.body)
    return plain_twiml(_bodies(engine, channel, replies))


async def answer(engine: Engine, text: TextIn, now: datetime, channel: TwilioChannel) -> str:
    """The TwiML for one signed, parsed text: from the turn, or from memory
    when storage or anything else fails (never a stack trace or silence)."""
    try:
        return await run_in_threadpool(answer_text, engine, text, now, channel)
    except DBAPIError:
        log.error("%s answered from memory: database unavailable", channel.name)
        return answer_without_storage(engine, text, outage=True, channel=channel)
    except Exception as fault:  # noqa: BLE001 - never a stack trace or silence for a person
        # The kind only: an exception's text could quote the message.
        log.error("%s answered from memory after a fault: %s", channel.name, type(fault).__name__)
        return answer_without_storage(engine, text, outage=False, channel=channel)


@router.post("/inbound")
async def inbound(request: Request, now: ArrivedAt) -> Response:
    engine = _engine(request)
    form = await signed_form(request, engine.settings)
    text = parse_inbound(form, engine.settings.twilio_account_sid)
    return Response(await answer(engine, text, now, SMS), media_type=TWIML)
