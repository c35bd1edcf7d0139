"""Test helpers for the SMS channel: an engine with Twilio settings, requests
signed with twilio's own RequestValidator, TwiML read back with xml.etree, and
`SmsChat`, the conftest `Chat` driven through the real /sms/inbound endpoint."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import SQLModel
from twilio.request_validator import RequestValidator

from bot.channels.render import sms_text
from bot.channels.sms import inbound as sms
from bot.engine import Engine
from bot.storage import binding
from bot.storage.models import HandledMessage, OutboundMessage
from bot.text import sms_segments
from bot.types import Reply
from bot.web.app import create_app
from tests.conftest import Chat

TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://frontdoor.example.org"
SERVICE_NUMBER = "+447700900999"
PERSON = "+447700900123"


def sms_engine(engine: Engine, **overrides: object) -> Engine:
    """An engine on the same database whose settings turn the SMS channel on."""
    settings = engine.settings.model_copy(
        update={
            "twilio_account_sid": "AC" + "0" * 32,
            "twilio_auth_token": TOKEN,
            "twilio_from": SERVICE_NUMBER,
            "public_base_url": BASE,
            **overrides,
        }
    )
    return Engine(settings=settings, content=engine.content, database=engine.db)


def sign(path: str, params: Mapping[str, str], token: str = TOKEN, base: str = BASE) -> str:
    return RequestValidator(token).compute_signature(base + path, dict(params))


def post_signed(
    client: TestClient,
    path: str,
    params: Mapping[str, str],
    *,
    signature: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST as Twilio does: form-encoded, signed for the public address."""
    sent_headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": sign(path, params) if signature is None else signature,
        **(headers or {}),
    }
    return client.post(path, content=urlencode(params), headers=sent_headers)


_sids = itertools.count(1)


def new_sid(prefix: str = "SM") -> str:
    return f"{prefix}{next(_sids):032x}"


def inbound_params(text: str, sender: str = PERSON, sid: str | None = None, **extra: str) -> dict:
    """The form Twilio posts for an incoming text (the fields it always sends)."""
    sid = sid or new_sid()
    return {
        "ToCountry": "GB",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "From": sender,
        "To": SERVICE_NUMBER,
        "Body": text,
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
        **extra,
    }


@dataclass(frozen=True)
class Sent:
    """One <Message> of a TwiML answer."""

    body: str
    action: str | None


def twiml_messages(text: str) -> list[Sent]:
    root = ET.fromstring(text)
    assert root.tag == "Response"
    assert all(child.tag == "Message" for child in root)
    return [Sent(m.text or "", m.get("action")) for m in root.findall("Message")]


def handled_replies(engine: Engine, channel: str, provider_id: str) -> list[Reply] | None:
    """The engine's answer to one message, as it stored it (None: never handled)."""
    with engine.db.session() as session:
        sealed = session.execute(
            select(HandledMessage.replies_enc)
            .where(HandledMessage.channel == channel)
            .where(HandledMessage.provider_id == provider_id)
        ).scalar_one_or_none()
        session.commit()
    if sealed is None:
        return None
    context = binding.handled_replies(channel, provider_id)
    return [Reply.from_json(r) for r in engine.vault.open(sealed, context)]


def stored_replies(engine: Engine, message_sid: str) -> list[Reply] | None:
    """The engine's answer to an SMS's MessageSid (None: never handled)."""
    return handled_replies(engine, "sms", message_sid)


def deliveries(engine: Engine, message_sid: str) -> list[OutboundMessage]:
    with engine.db.session() as session:
        rows = session.execute(
            select(OutboundMessage)
            .where(OutboundMessage.in_reply_to.like(f"{message_sid}%"))
            .order_by(OutboundMessage.id)
        ).scalars()
        found = list(rows)
        session.commit()
    return found


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of every table, to show a request changed nothing at all."""
    with engine.db.session() as session:
        tables = {
            table.name: sorted(
                (tuple(str(v) for v in row) for row in session.execute(table.select())),
            )
            for table in SQLModel.metadata.sorted_tables
        }
        session.commit()
    return tables


def count(engine: Engine, model: type[SQLModel]) -> int:
    with engine.db.session() as session:
        total = session.execute(select(func.count()).select_from(model)).scalar_one()
        session.commit()
    return int(total)


def assert_shows_exactly(messages: list[Sent], replies: list[Reply]) -> None:
    """What Twilio was told to send is the SMS rendering of exactly these replies,
    in order: one <Message> unless the text passes 1600 characters."""
    expected = "\n\n".join(sms_text(r) for r in replies)
    assert messages, "never silence"
    assert all(len(m.body) <= 1600 for m in messages)
    if len(expected) <= 1600:
        assert [m.body for m in messages] == [expected]
    else:
        assert " ".join(" ".join(m.body for m in messages).split()) == " ".join(expected.split())


class TwilioChat(Chat):
    """The conftest `Chat`, but every message goes through a Twilio webhook,
    signed as Twilio signs it. `send` returns the replies the engine stored for
    that MessageSid, after checking the TwiML carries exactly their rendering
    and that each <Message> has its delivery record. SMS and WhatsApp differ
    only in their path, their form and their rendering (the subclasses)."""

    path = "/sms/inbound"
    status_path = "/sms/status"

    def __init__(self, engine: Engine, channel: str, address: str) -> None:
        super().__init__(engine, channel=channel, address=address, phone=True)
        self.app = create_app(engine)
        self.app.dependency_overrides[sms.received_at] = self.clock
        self.client = TestClient(self.app)
        self.messages: list[Sent] = []
        self.twiml = ""

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    def params(self, text: str, sid: str, **extra: str) -> dict[str, str]:
        return inbound_params(text, self.address, sid, **extra)

    def post(self, text: str, message_id: str | None = None, **extra: str) -> httpx.Response:
        return post_signed(
            self.client, self.path, self.params(text, message_id or new_sid(), **extra)
        )

    def check_shown(self, messages: list[Sent], replies: list[Reply]) -> None:
        assert_shows_exactly(messages, replies)

    def check_delivery(self, row: OutboundMessage, message: Sent) -> None:
        assert row.channel == self.channel and row.status == "queued"

    def send(
        self,
        text: str = "",
        choice: str | None = None,
        message_id: str | None = None,
        command: str | None = None,
    ) -> list[Reply]:
        assert choice is None and command is None, "no buttons or commands here: type it"
        sid = message_id or new_sid()
        response = self.post(text, sid)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/xml")
        self.twiml = response.text
        self.messages = twiml_messages(response.text)
        replies = handled_replies(self.engine, self.channel, sid)
        assert replies is not None, "the engine handled this message"
        self.check_shown(self.messages, replies)
        rows = deliveries(self.engine, sid)
        assert len(rows) == len(self.messages)
        for row, message in zip(rows, self.messages, strict=True):
            assert message.action == f"{BASE}{self.status_path}?reply={row.id}"
            self.check_delivery(row, message)
        self.last = replies
        return replies


class SmsChat(TwilioChat):
    """A person texting POST /sms/inbound; each <Message> counted in segments."""

    def __init__(self, engine: Engine, address: str = PERSON) -> None:
        super().__init__(engine, channel="sms", address=address)

    def check_delivery(self, row: OutboundMessage, message: Sent) -> None:
        super().check_delivery(row, message)
        assert (row.encoding, row.segments) == sms_segments(message.body)
