"""Telegram replies are delivered at least once, whatever fails.

The fake Bot API (tests/fake_bot_api.py, real HTTP on loopback) fails sends
on command, or never answers one while the real server process is killed
with SIGKILL. Every time the person's replies still arrive, in order; the
only repeat allowed is a reply that was in flight when the process died.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.channels.telegram.send import finish_unfinished
from bot.engine import Engine
from tests.dashboard_support import free_port
from tests.fake_bot_api import TOKEN, FakeBotApi
from tests.telegram_driver import (
    SECRET,
    next_update_id,
    post,
    stored_replies,
    telegram_engine,
    text_message,
    webhook_client,
)


@pytest.fixture
def tg(engine: Engine, tmp_path: Path, fake: FakeBotApi) -> Engine:
    return telegram_engine(engine, tmp_path, fake)


def _texts(fake: FakeBotApi, mark: int) -> list[str]:
    return [c.params["text"] for c in fake.since(mark, "sendMessage") if c.result is not None]


def _fail_sends(fake: FakeBotApi, times: int) -> None:
    for _ in range(times):
        fake.fail_next("sendMessage", 502, "Bad Gateway")


def _hello(fake: FakeBotApi, chat_id: int) -> dict:
    return {"update_id": next_update_id(), "message": text_message(fake, chat_id, "hi")}


def test_a_failed_send_makes_telegram_deliver_again_and_the_rest_goes(
    tg: Engine, fake: FakeBotApi
) -> None:
    update = _hello(fake, 7_500_001)
    with webhook_client(tg) as client:
        fake.allow_next("sendMessage")  # the greeting goes...
        _fail_sends(fake, 3)  # ...the safety question fails three times
        mark = fake.mark()
        assert post(client, update) == 503  # Telegram will deliver the update again
        first = _texts(fake, mark)
        replies = stored_replies(tg, update["update_id"])
        assert len(first) == 1 and len(replies) == 2
        mark = fake.mark()
        assert post(client, update) == 200  # the redelivery sends only what is missing
        _wait_until(lambda: _texts(fake, mark) != [], 10)  # at once, or after the chat's pace
        second = _texts(fake, mark)
        assert len(second) == 1 and second[0] != first[0]
        mark = fake.mark()
        assert post(client, update) == 200  # and a third delivery sends nothing
        assert _texts(fake, mark) == []


def test_the_worker_finishes_what_no_redelivery_did(tg: Engine, fake: FakeBotApi) -> None:
    update = _hello(fake, 7_500_002)
    with webhook_client(tg) as client:
        _fail_sends(fake, 3)
        assert post(client, update) == 503
    replies = stored_replies(tg, update["update_id"])
    later = datetime.now(UTC) + timedelta(minutes=1)
    mark = fake.mark()
    assert asyncio.run(finish_unfinished(tg, later)) == len(replies)
    assert len(_texts(fake, mark)) == len(replies)
    mark = fake.mark()
    assert asyncio.run(finish_unfinished(tg, later + timedelta(minutes=5))) == 0
    assert _texts(fake, mark) == []


def test_danger_reply_is_delivered_when_the_bot_api_fails_first(
    tg: Engine, fake: FakeBotApi
) -> None:
    update = {
        "update_id": next_update_id(),
        "message": text_message(fake, 7_500_003, "hes at the door"),
    }
    with webhook_client(tg) as client:
        _fail_sends(fake, 3)
        assert post(client, update) == 503
        mark = fake.mark()
        assert post(client, update) == 200
        [sent] = _texts(fake, mark)
        assert "999" in sent and "55" in sent


# ----- a server killed while a reply is in flight -------------------------------------
def _serve(tg: Engine, port: int) -> subprocess.Popen:
    settings = tg.settings
    env = {
        **os.environ,
        "DATABASE_URL": settings.sqlalchemy_url,
        "FRONTDOOR_SECRET": settings.frontdoor_secret,
        "VAR_DIR": str(settings.var_dir),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": settings.telegram_api_base_url,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_until(check, seconds: float = 60) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("waited too long")
        time.sleep(0.1)


def test_a_server_killed_mid_send_loses_no_reply(tg: Engine, fake: FakeBotApi) -> None:
    port = free_port()
    server = _serve(tg, port)
    try:
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _wait_until(up)
        update = _hello(fake, 7_500_004)
        fake.allow_next("sendMessage")  # the greeting goes, the question hangs in flight
        fake.hang_next("sendMessage")
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

        def deliver() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server dies under it
                httpx.post(f"{base}/telegram/webhook", json=update, headers=headers, timeout=30)

        poster = threading.Thread(target=deliver, daemon=True)
        poster.start()
        _wait_until(lambda: len(fake.called("sendMessage")) >= 2)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        poster.join(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
    replies = stored_replies(tg, update["update_id"])
    assert len(replies) == 2
    mark = fake.mark()
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert asyncio.run(finish_unfinished(tg, later)) == 1  # the reply that was in flight
    [finished] = _texts(fake, mark)
    assert finished == fake.called("sendMessage")[1]["text"]


def test_an_unreadable_unsent_turn_never_holds_up_the_others(tg: Engine, fake: FakeBotApi) -> None:
    from sqlalchemy import update

    from bot.storage.models import HandledMessage

    broken, fine = _hello(fake, 7_500_005), _hello(fake, 7_500_006)
    with webhook_client(tg) as client:
        _fail_sends(fake, 6)
        assert post(client, broken) == 503
        assert post(client, fine) == 503
    with tg.db.session() as session:  # one row's sealed replies become garbage
        session.execute(
            update(HandledMessage)
            .where(HandledMessage.provider_id.like(f"%:{broken['update_id']}"))
            .values(replies_enc=b"\x00" * 40)
        )
        session.commit()
    later = datetime.now(UTC) + timedelta(minutes=1)
    mark = fake.mark()
    assert asyncio.run(finish_unfinished(tg, later)) == 2  # the readable turn's two replies
    assert len(_texts(fake, mark)) == 2
    assert asyncio.run(finish_unfinished(tg, later + timedelta(minutes=5))) == 0
