"""The database goes away for real, and people are still answered.

PostgreSQL: a TCP proxy between the app and the server is cut (every open
connection broken, new ones refused) and restored. SQLite: another process's
connection holds an exclusive lock longer than the app will wait. Through the
signed SMS webhook, the simulator and the Telegram webhook (against a local
fake Bot API), every message still gets the emergency guidance and "please
text again", made from memory; nothing is half-stored; once the database is
back everything works again, and Telegram's redelivery is handled properly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from bot.content.model import Content
from bot.engine import Engine
from bot.web.app import create_app
from tests.conftest import clean, make_settings
from tests.fake_bot_api import FakeBotApi
from tests.faults.tcp_proxy import TcpProxy
from tests.sms_support import inbound_params, post_signed, sms_engine, twiml_messages
from tests.telegram_driver import (
    next_update_id,
    post,
    telegram_engine,
    text_message,
    webhook_client,
)


class Outage:
    """Breaks the database for the engine it made, and mends it."""

    def __init__(self, url: str, tmp_path: Path, content: Content) -> None:
        clean(url)
        self.proxy: TcpProxy | None = None
        self.sqlite_path: str | None = None
        self._lock: sqlite3.Connection | None = None
        if url.startswith("sqlite"):
            self.sqlite_path = url.split("///", 1)[-1]
            app_url = url
        else:
            parsed = make_url(url)
            self.proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
            app_url = parsed.set(host="127.0.0.1", port=self.proxy.port).render_as_string(
                hide_password=False
            )
        settings = make_settings(tmp_path, app_url, db_timeout_seconds=1)
        self.engine = Engine(settings=settings, content=content)

    def cut(self) -> None:
        if self.proxy is not None:
            self.proxy.cut()
        else:
            self._lock = sqlite3.connect(self.sqlite_path, timeout=5, isolation_level=None)
            self._lock.execute("BEGIN EXCLUSIVE")

    def mend(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
        elif self._lock is not None:
            self._lock.execute("ROLLBACK")
            self._lock.close()
            self._lock = None

    def close(self) -> None:
        if self.proxy is None:
            self.mend()
        self.engine.db.dispose()
        if self.proxy is not None:
            self.proxy.close()


@pytest.fixture
def outage(db_url: str, tmp_path: Path, content: Content) -> Iterator[Outage]:
    made = Outage(db_url, tmp_path, content)
    yield made
    made.close()


def _sms(client: TestClient, text: str, sid: str | None = None) -> list[str]:
    params = inbound_params(text, sid=sid) if sid else inbound_params(text)
    response = post_signed(client, "/sms/inbound", params)
    assert response.status_code == 200, response.text
    return [m.body for m in twiml_messages(response.text)]


def test_sms_during_an_outage_gets_the_guidance_and_try_again(outage: Outage) -> None:
    engine = sms_engine(outage.engine)
    with TestClient(create_app(engine)) as client:
        assert _sms(client, "hi")  # working: the greeting
        outage.cut()
        for text in ("hes at the door", "hello", "1"):
            [body] = _sms(client, text)
            assert "999" in body and "55" in body, text
            assert "text again in a few minutes" in body, text
        if outage.proxy is not None:
            assert client.get("/healthz").status_code == 503
        outage.mend()
        [body] = _sms(client, "hello")
        assert "text again in a few minutes" not in body
        assert client.get("/healthz").status_code == 200


def test_sms_during_an_outage_answers_in_the_language_of_the_message(outage: Outage) -> None:
    engine = sms_engine(outage.engine)
    with TestClient(create_app(engine)) as client:
        outage.cut()
        polish = engine.content.text("words.outage", "pl")
        [body] = _sms(client, "pomocy on mnie bije")
        assert polish.split(".")[0][:20] in body.replace("ł", "l")


def test_the_simulator_during_an_outage_answers_from_memory(outage: Outage) -> None:
    with TestClient(create_app(outage.engine)) as client:
        outage.cut()
        response = client.post(
            "/simulator/messages", json={"session": "outage-session-1", "text": "hello"}
        )
        assert response.status_code == 200
        keys = [r["key"] for r in response.json()["replies"]]
        assert keys == ["words.danger", "words.outage"]


def test_telegram_during_an_outage_tells_once_then_redelivery_answers(
    outage: Outage, tmp_path: Path, fake: FakeBotApi
) -> None:
    engine = telegram_engine(outage.engine, tmp_path, fake)
    chat_id = 7_400_001
    with webhook_client(engine) as client:
        outage.cut()
        update = {"update_id": next_update_id(), "message": text_message(fake, chat_id, "hi")}
        mark = fake.mark()
        assert post(client, update) == 503  # Telegram will deliver it again
        told = [c.params["text"] for c in fake.since(mark, "sendMessage")]
        assert len(told) == 2 and "999" in told[0] and "text again" in told[1]
        mark = fake.mark()
        assert post(client, update) == 503  # still away: not told a second time
        assert fake.since(mark, "sendMessage") == []
        outage.mend()
        mark = fake.mark()
        assert post(client, update) == 200
        sent = [c.params["text"] for c in fake.since(mark, "sendMessage")]
        assert sent and "text again" not in sent[-1]  # the real answer, at last
