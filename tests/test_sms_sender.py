"""Proactive texts: the worker's outbox through `SmsSender` and twilio's real
REST client, against a local fake of Twilio's API (canned JSON answers) or,
for network failures, real connections on loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session
from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

from bot.channels.sms.send import SmsSender
from bot.engine import Engine
from bot.outbox import SendCounts, enqueue, is_opted_out, record_opt_out, send_due
from bot.storage.models import OutboundMessage, Outbox
from bot.worker import build_senders
from tests.sms_support import BASE, SERVICE_NUMBER, sms_engine

NUMBER = "+447700900321"
MESSAGES_URL = "https://api.twilio.com/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json"


def created(sid: str = "SM" + "f" * 32) -> tuple[int, dict, dict]:
    return 201, {"sid": sid, "status": "queued", "num_segments": "1"}, {}


def refused(status: int, code: int, headers: dict | None = None) -> tuple[int, dict, dict]:
    return status, {"code": code, "message": "refused", "status": status}, headers or {}


class FakeTwilio(HttpClient):
    """Twilio's API as the twilio client sees it: records each request and
    answers with the canned responses it was given, one per request."""

    def __init__(self, *responses: tuple[int, dict, dict]) -> None:
        super().__init__(logging.getLogger("tests.fake_twilio"), False, None)
        self.responses = list(responses)
        self.requests: list[dict[str, Any]] = []

    def request(  # type: ignore[override]
        self,
        method: str,
        uri: str,
        params: dict | None = None,
        data: dict | None = None,
        headers: dict | None = None,
        auth: tuple | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        self.requests.append({"method": method, "uri": uri, "data": data, "auth": auth})
        status, body, response_headers = self.responses.pop(0) if self.responses else created()
        return Response(status, json.dumps(body), response_headers)


def queue(engine: Engine, now: datetime, text: str, key: str = "text_before_call:FD-T1:1") -> None:
    with Session(engine.db.engine) as session:
        enqueue(
            session,
            engine.vault,
            channel="sms",
            kind="text_before_call",
            address=NUMBER,
            text=text,
            dedupe_key=key,
            now=now,
        )
        session.commit()


def deliver(engine: Engine, sender: SmsSender, now: datetime) -> SendCounts:
    return asyncio.run(send_due(engine.db, engine.vault, {"sms": sender}, now))


def outbox_row(engine: Engine) -> Outbox:
    with Session(engine.db.engine) as session:
        return session.execute(select(Outbox)).scalar_one()


@pytest.fixture
def texting(engine: Engine) -> Engine:
    return sms_engine(engine)


def test_the_worker_builds_an_sms_sender_only_with_credentials(
    engine: Engine, texting: Engine
) -> None:
    assert "sms" not in build_senders(engine.settings)
    sender = build_senders(texting.settings)["sms"]
    assert isinstance(sender, SmsSender) and sender.channel == "sms"


def test_a_queued_text_goes_once_through_twilios_client(texting: Engine) -> None:
    now = datetime.now(UTC)
    queue(texting, now, "We\u2019ll call you in 10 minutes \u2013 from a withheld number\u2026")
    fake = FakeTwilio(created("SM" + "1" * 32))
    sender = SmsSender(texting.settings, http_client=fake)
    assert deliver(texting, sender, now).sent == 1
    [request] = fake.requests
    assert request["method"] == "POST" and request["uri"] == MESSAGES_URL
    assert request["data"] == {
        "To": NUMBER,
        "From": SERVICE_NUMBER,
        "Body": "We'll call you in 10 minutes - from a withheld number...",
        "StatusCallback": f"{BASE}/sms/status",
    }
    assert request["auth"] == ("AC" + "0" * 32, texting.settings.twilio_auth_token)
    assert deliver(texting, sender, now + timedelta(hours=2)).sent == 0
    assert len(fake.requests) == 1  # sent once, never again
    with Session(texting.db.engine) as session:
        record = session.execute(select(OutboundMessage)).scalar_one()
    assert (record.provider_id, record.segments, record.encoding) == ("SM" + "1" * 32, 1, "GSM-7")


def test_a_messaging_service_sends_instead_of_a_number(engine: Engine) -> None:
    texting = sms_engine(engine, twilio_from="", twilio_messaging_service_sid="MG" + "2" * 32)
    now = datetime.now(UTC)
    queue(texting, now, "Hello")
    fake = FakeTwilio()
    assert deliver(texting, SmsSender(texting.settings, http_client=fake), now).sent == 1
    data = fake.requests[0]["data"]
    assert data["MessagingServiceSid"] == "MG" + "2" * 32 and "From" not in data


def test_twilio_down_is_retried_with_backoff_then_sent(texting: Engine) -> None:
    now = datetime.now(UTC)
    queue(texting, now, "Hello")
    fake = FakeTwilio(refused(503, 20500), created())
    sender = SmsSender(texting.settings, http_client=fake)
    assert deliver(texting, sender, now).deferred == 1
    row = outbox_row(texting)
    assert row.status == "pending" and row.last_error == "20500"
    assert deliver(texting, sender, now + timedelta(seconds=5)).deferred == 0  # not yet due
    assert len(fake.requests) == 1
    assert deliver(texting, sender, now + timedelta(minutes=1)).sent == 1
    assert len(fake.requests) == 2 and outbox_row(texting).status == "sent"


def test_too_many_requests_waits_as_long_as_twilio_asks(texting: Engine) -> None:
    now = datetime.now(UTC)
    queue(texting, now, "Hello")
    fake = FakeTwilio(refused(429, 20429, {"Retry-After": "900"}))
    sender = SmsSender(texting.settings, http_client=fake)
    assert deliver(texting, sender, now).deferred == 1
    due = outbox_row(texting).next_attempt_at.replace(tzinfo=UTC)
    assert due - now == timedelta(seconds=900)
    assert deliver(texting, sender, now + timedelta(seconds=899)).sent == 0
    assert deliver(texting, sender, now + timedelta(seconds=900)).sent == 1


def test_error_21610_marks_the_number_opted_out_and_it_is_never_texted_again(
    texting: Engine,
) -> None:
    now = datetime.now(UTC)
    queue(texting, now, "Hello")
    fake = FakeTwilio(refused(400, 21610))
    sender = SmsSender(texting.settings, http_client=fake)
    assert deliver(texting, sender, now).refused == 1
    row = outbox_row(texting)
    assert (row.status, row.last_error) == ("refused", "21610")
    with Session(texting.db.engine) as session:
        assert is_opted_out(session, texting.vault, NUMBER)
    queue(texting, now, "Hello again", key="text_before_call:FD-T1:2")
    assert deliver(texting, sender, now + timedelta(hours=1)).refused == 1
    assert len(fake.requests) == 1  # the second text never reached Twilio


def test_an_opted_out_number_never_reaches_twilio(texting: Engine) -> None:
    now = datetime.now(UTC)
    with Session(texting.db.engine) as session:
        record_opt_out(session, texting.vault, NUMBER, "keyword", now)
        session.commit()
    queue(texting, now, "Hello")
    fake = FakeTwilio()
    assert deliver(texting, SmsSender(texting.settings, http_client=fake), now).refused == 1
    assert fake.requests == []


def test_a_bad_number_is_refused_without_retrying(texting: Engine) -> None:
    now = datetime.now(UTC)
    queue(texting, now, "Hello")
    fake = FakeTwilio(refused(400, 21211))
    sender = SmsSender(texting.settings, http_client=fake)
    assert deliver(texting, sender, now).refused == 1
    assert (outbox_row(texting).status, outbox_row(texting).last_error) == ("refused", "21211")
    assert deliver(texting, sender, now + timedelta(days=1)).sent == 0
    assert len(fake.requests) == 1


# ----- real connections on loopback ------------------------------------------


class Loopback(HttpClient):
    """Twilio's own HTTP client (requests underneath), sent to a local port."""

    def __init__(self, port: int, timeout: float) -> None:
        self.real = TwilioHttpClient(timeout=timeout)
        super().__init__(self.real.logger, False, timeout)
        self.port = port

    def request(self, method: str, uri: str, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        local = uri.replace("https://api.twilio.com", f"http://127.0.0.1:{self.port}")
        return self.real.request(method, local, *args, **kwargs)


def _closed_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and reads requests but never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                held.append(connection)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def test_no_connection_at_all_is_retried(texting: Engine) -> None:
    now = datetime.now(UTC)
    queue(texting, now, "Hello")
    sender = SmsSender(texting.settings, http_client=Loopback(_closed_port(), timeout=5))
    counts = deliver(texting, sender, now)
    assert counts.deferred == 1
    assert (outbox_row(texting).status, outbox_row(texting).last_error) == (
        "pending",
        "connection",
    )


def test_no_answer_after_sending_is_never_sent_again(texting: Engine, silent_server: int) -> None:
    now = datetime.now(UTC)
    queue(texting, now, "Hello")
    sender = SmsSender(texting.settings, http_client=Loopback(silent_server, timeout=0.5))
    assert deliver(texting, sender, now).failed == 1  # it may have gone: never twice
    row = outbox_row(texting)
    assert (row.status, row.last_error) == ("failed", "ReadTimeout")
    assert deliver(texting, sender, now + timedelta(days=1)).sent == 0


def test_a_send_logs_no_number_text_or_account(
    texting: Engine, silent_server: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    now = datetime.now(UTC)
    queue(texting, now, "Hello from a secret place")
    sender = SmsSender(texting.settings, http_client=Loopback(silent_server, timeout=0.5))
    deliver(texting, sender, now)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "outbox send" in logged  # the failure is logged, by its type
    assert NUMBER not in logged and "7700900321" not in logged
    assert "secret place" not in logged and "AC" + "0" * 32 not in logged
