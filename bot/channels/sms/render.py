"""A turn's replies as TwiML: one <Message>, so the network cannot shuffle them.

Every reply is rendered for SMS (numbered option lines, GSM-7 where a plain
equivalent exists) and joined, in order, with a blank line between replies.
Only a text longer than Twilio's 1600-character limit is split, at reply
boundaries first, then at line breaks, then between words. Each <Message>
has a delivery record (OutboundMessage, no text kept) named by the inbound
MessageSid, whose id is in the message's status callback address; a retried
delivery finds the same records and so gets the same TwiML.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select
from sqlmodel import Session
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels.render import sms_text, split_to_fit
from bot.storage.db import Database, core, table_of
from bot.storage.models import OutboundMessage
from bot.text import sms_segments
from bot.types import Reply

MAX_MESSAGE_CHARS = 1600  # Twilio's limit for one message body
REPLY_GAP = "\n\n"
# Characters XML 1.0 cannot carry at all; content never has them, but a
# TwiML answer must parse whatever happens.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

TWIML = "text/xml"  # the media type of every answer to Twilio


def message_bodies(
    replies: Sequence[Reply],
    limit: int = MAX_MESSAGE_CHARS,
    render: Callable[[Reply], str] = sms_text,
) -> list[str]:
    """The SMS bodies for a turn: usually one, never one over `limit` characters.
    `render` writes one reply (WhatsApp's differs from SMS's)."""
    bodies: list[str] = []
    current = ""
    for reply in replies:
        text = _NOT_XML.sub("", render(reply))
        for unit in split_to_fit(text, lambda piece: len(piece) <= limit):
            candidate = f"{current}{REPLY_GAP}{unit}" if current else unit
            if len(candidate) <= limit:
                current = candidate
            else:
                bodies.append(current)
                current = unit
    if current:
        bodies.append(current)
    return bodies


_OUTBOUND = table_of(OutboundMessage)
_WAIT_FOR_RECORDS = select(func.pg_advisory_xact_lock(func.hashtext(bindparam("sid"))))
_RECORDS = (
    select(_OUTBOUND.c.in_reply_to, _OUTBOUND.c.id)
    .where(_OUTBOUND.c.channel == bindparam("channel"))
    .where(_OUTBOUND.c.person_key == bindparam("person"))
    .where(_OUTBOUND.c.in_reply_to.in_(bindparam("names", expanding=True)))
    .order_by(_OUTBOUND.c.id)
)
_RECORD = insert(_OUTBOUND).returning(_OUTBOUND.c.id)


def delivery_ids(
    db: Database,
    person_key: str,
    message_sid: str,
    bodies: list[str],
    now: datetime,
    channel: str = "sms",
) -> list[int]:
    """The delivery record of each body: the stored ones on a retry, else new ones.

    The first body answers `message_sid`, later ones `message_sid#2`, `#3`...
    (SQLite runs one write transaction at a time; PostgreSQL takes a lock on
    the message id, so two deliveries of one text never make two records.)
    """
    with db.session() as session:
        ids = delivery_ids_in(
            session, db.is_postgres, person_key, message_sid, bodies, now, channel=channel
        )
        session.commit()
    return ids


def delivery_ids_in(
    session: Session,
    is_postgres: bool,
    person_key: str,
    message_sid: str,
    bodies: list[str],
    now: datetime,
    channel: str = "sms",
) -> list[int]:
    """`delivery_ids` inside a transaction already open (the turn's own). SMS
    rows keep segments and encoding; other channels (WhatsApp) are not billed
    by segment and keep neither. Plain SQL on the table, not ORM objects: it
    runs in every turn, and the rows are read back only by their ids."""
    names = [message_sid] + [f"{message_sid}#{n}" for n in range(2, len(bodies) + 1)]
    connection = core(session)
    if is_postgres:  # a retry racing the first delivery waits for its records
        connection.execute(_WAIT_FOR_RECORDS, {"sid": message_sid})
    found: dict[str, int] = {
        name: row_id
        for name, row_id in connection.execute(
            _RECORDS, {"channel": channel, "person": person_key, "names": names}
        ).tuples()
    }
    ids: list[int] = []
    for name, body in zip(names, bodies, strict=True):
        row_id = found.get(name)
        if row_id is None:
            encoding, segments = sms_segments(body) if channel == "sms" else ("", 0)
            row_id = connection.execute(
                _RECORD,
                {
                    "channel": channel,
                    "person_key": person_key,
                    "in_reply_to": name,
                    "segments": segments,
                    "encoding": encoding,
                    "status": "queued",
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
        ids.append(row_id)
    return ids


def twiml(bodies: list[str], ids: list[int], status_url: str) -> str:
    """TwiML with one <Message> per body, each reporting its delivery to `status_url`."""
    response = MessagingResponse()
    for body, row_id in zip(bodies, ids, strict=True):
        response.message(body, action=f"{status_url}?reply={row_id}")
    return str(response)


def plain_twiml(bodies: list[str]) -> str:
    """TwiML without delivery reports: for answers made while the database is away."""
    response = MessagingResponse()
    for body in bodies:
        response.message(body)
    return str(response)


def empty_twiml() -> str:
    """An answer that sends nothing (after STOP, or to an opted-out number)."""
    return str(MessagingResponse())
