"""Error reporting sends the kind and place of an error, never what a person wrote.

A capturing transport stands in for Sentry and holds exactly what would be
sent; the tests then look for the number, the words, cookies, headers and
local variables in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sentry_sdk
from fastapi import Request
from fastapi.testclient import TestClient
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from bot.engine import Engine
from bot.error_reporting import init_error_reporting, scrub_event
from bot.settings import Settings
from bot.types import Inbound
from bot.web.app import create_app

PHONE = "+447700900461"
WORDS = "he has my passport and the car keys"
SECRET_LOCAL = "local-variable-canary"


class Capture(Transport):
    """Keeps every envelope instead of sending it."""

    def __init__(self, options: dict | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)

    def events(self) -> list[dict]:
        found = []
        for envelope in self.envelopes:
            for item in envelope.items:
                if item.type == "event":
                    found.append(json.loads(item.payload.get_bytes()))
        return found

    def sent_text(self) -> str:
        return "".join(
            item.payload.get_bytes().decode("utf-8", "replace")
            for envelope in self.envelopes
            for item in envelope.items
        )


@pytest.fixture
def capture(sqlite_engine: Engine) -> Iterator[Capture]:
    transport = Capture()
    settings = sqlite_engine.settings.model_copy(
        update={"sentry_dsn": "https://public@errors.example.invalid/1"}
    )
    assert init_error_reporting(settings, transport=transport)
    yield transport
    client = sentry_sdk.get_client()
    client.close()
    sentry_sdk.get_global_scope().set_client(None)


def _explode(inbound: Inbound, *_hooks: object) -> None:
    canary = SECRET_LOCAL  # noqa: F841 - a local variable that must not be sent
    raise ValueError(f"could not handle {inbound.text!r} from {inbound.address}")


def _assert_clean(transport: Capture) -> dict:
    sent = transport.sent_text()
    for forbidden in (PHONE, "7700900461", WORDS, "passport", SECRET_LOCAL, "session=abc"):
        assert forbidden not in sent
    events = transport.events()
    assert len(events) == 1
    event = events[0]
    assert "request" not in event and "extra" not in event and "user" not in event
    [exception] = event["exception"]["values"]
    assert exception["type"] == "ValueError" and exception["value"] == ""
    frames = exception["stacktrace"]["frames"]
    assert frames and all("vars" not in frame and "context_line" not in frame for frame in frames)
    assert any(frame["function"] == "_explode" for frame in frames)
    return event


def test_off_without_a_dsn(tmp_path: Path) -> None:
    assert init_error_reporting(Settings(var_dir=tmp_path, sentry_dsn="")) is False


def test_an_engine_failure_sends_no_number_words_or_locals(
    sqlite_engine: Engine, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_engine, "_handle_once", _explode)
    inbound = Inbound(
        channel="sms", address=PHONE, text=WORDS, message_id="err-1", address_is_phone=True
    )
    replies = sqlite_engine.handle(inbound)
    assert replies  # the person still got the calm answer
    sentry_sdk.flush()
    _assert_clean(capture)


def test_a_web_failure_sends_no_body_cookies_or_headers(
    sqlite_engine: Engine, capture: Capture
) -> None:
    app = create_app(sqlite_engine)

    @app.post("/boom")
    async def boom(request: Request) -> None:
        body = (await request.body()).decode()
        _explode(Inbound(channel="sms", address=PHONE, text=body, message_id="x"))

    client = TestClient(app, raise_server_exceptions=False)
    client.cookies.set("session", "abc")
    response = client.post(
        "/boom",
        content=f"From={PHONE}&Body={WORDS}",
        headers={"X-Twilio-Signature": "sig", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 500
    sentry_sdk.flush()
    event = _assert_clean(capture)
    assert "X-Twilio-Signature" not in json.dumps(event)


def test_scrub_strips_breadcrumbs_and_log_parameters() -> None:
    event = {
        "breadcrumbs": {"values": [{"message": WORDS}]},
        "logentry": {"message": "handled %s", "params": [PHONE]},
        "request": {"data": WORDS, "cookies": "session=abc"},
        "extra": {"text": WORDS},
    }
    scrubbed = json.dumps(scrub_event(event, None))
    assert WORDS not in scrubbed and PHONE not in scrubbed and "session=abc" not in scrubbed
