"""Requests no provider would send are refused cleanly (4xx), change nothing,
and never reach a person: a reshaped Twilio form under a valid signature,
absurd media counts, line breaks in header-like fields, oversized Telegram
updates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.engine import Engine
from bot.web.app import create_app
from tests.fake_bot_api import FakeBotApi, FakeBotApiServer
from tests.sms_support import inbound_params, post_signed, sms_engine, snapshot
from tests.telegram_driver import SECRET, telegram_engine, webhook_client


@pytest.fixture
def texting(engine: Engine) -> Engine:
    return sms_engine(engine)


@pytest.mark.parametrize(
    "change",
    [
        {"MessageSid": "SM123", "SmsMessageSid": "SM123"},
        {"MessageSid": "XX" + "a" * 32, "SmsMessageSid": "XX" + "a" * 32},
        {"AccountSid": "AC" + "9" * 32},
        {"NumMedia": "999999"},
        {"NumMedia": "-1"},
        {"NumMedia": "lots"},
        {"From": "+447700900123\r\nX-Evil: 1"},
        {"To": "+447700900999\n"},
    ],
)
def test_a_signed_but_reshaped_twilio_request_is_refused(texting: Engine, change: dict) -> None:
    with TestClient(create_app(texting)) as client:
        before = snapshot(texting)
        params = {**inbound_params("hi"), **change}
        response = post_signed(client, "/sms/inbound", params)
        assert response.status_code == 400
        assert "Traceback" not in response.text
        assert snapshot(texting) == before


def test_a_missing_account_sid_is_refused(texting: Engine) -> None:
    with TestClient(create_app(texting)) as client:
        params = inbound_params("hi")
        del params["AccountSid"]
        assert post_signed(client, "/sms/inbound", params).status_code == 400


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApiServer() as state:
        yield state


def test_an_oversized_telegram_update_is_refused(
    engine: Engine, tmp_path: Path, fake: FakeBotApi
) -> None:
    tg = telegram_engine(engine, tmp_path, fake)
    with webhook_client(tg) as client:
        huge = b'{"update_id": 1, "pad": "' + b"x" * 300_000 + b'"}'
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
        response = client.post("/telegram/webhook", content=huge, headers=headers)
        assert response.status_code == 413
        assert fake.called("sendMessage") == []
