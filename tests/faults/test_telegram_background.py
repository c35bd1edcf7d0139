"""Telegram rate limits never hold the webhook, and no reply is lost or doubled.

The fake Bot API (tests/fake_bot_api.py, real HTTP on loopback) answers every
send to a chat with 429 and retry_after for as long as a test says, as
Telegram does for a chat that gets too much. The webhook answers at once;
the replies follow in the background, in order, each exactly once; a server
killed with SIGKILL while it waits leaves them to the worker, which does not
touch a turn still held by a live sender.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.channels.telegram import client as telegram
from bot.channels.telegram.render import telegram_messages
from bot.channels.telegram.send import finish_unfinished
from bot.engine import Engine
from bot.storage.models import HandledMessage
from tests.dashboard_support import free_port
from tests.fake_bot_api import BOT_ID, FakeBotApi, FakeBotApiServer
from tests.faults.test_telegram_delivery import _serve, _wait_until
from tests.telegram_driver import (
    SECRET,
    next_update_id,
    post,
    stored_replies,
    telegram_engine,
    text_message,
    webhook_client,
)

FAST = 1.0  # seconds: far less than any rate limit in these tests


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApiServer() as state:
        yield state


@pytest.fixture
def tg(engine: Engine, tmp_path: Path, fake: FakeBotApi) -> Engine:
    return telegram_engine(engine, tmp_path, fake)


def _update(fake: FakeBotApi, chat_id: int, text: str) -> dict:
    return {"update_id": next_update_id(), "message": text_message(fake, chat_id, text)}


def _timed_post(client, update: dict) -> float:  # noqa: ANN001
    began = time.monotonic()
    assert post(client, update) == 200
    return time.monotonic() - began


def _delivered(fake: FakeBotApi, chat_id: int) -> list[str]:
    """Texts Telegram accepted for this chat, in the order it accepted them."""
    return [
        c.params["text"]
        for c in fake.calls
        if c.method == "sendMessage"
        and c.result is not None
        and int(c.params["chat_id"]) == chat_id
    ]


def _expected(tg: Engine, *updates: dict) -> list[str]:
    return [
        text
        for u in updates
        for reply in stored_replies(tg, u["update_id"])
        for text, _markup in telegram_messages(reply)
    ]


def _unsent(tg: Engine) -> int:
    with tg.db.session() as session:
        rows = session.execute(select(HandledMessage.reply_count, HandledMessage.delivered)).all()
        session.commit()
    return sum(count - delivered for count, delivered in rows)


def test_the_webhook_answers_at_once_and_the_replies_follow_exactly_once(
    tg: Engine, fake: FakeBotApi
) -> None:
    chat_id = 7_700_001
    fake.rate_limit(chat_id, 5)  # long enough that a busy test machine still sees it hold
    first = _update(fake, chat_id, "hi")
    with webhook_client(tg) as client:
        assert _timed_post(client, first) < FAST  # never waits out the 429
        assert _delivered(fake, chat_id) == []  # still limited: nothing went yet
        _wait_until(lambda: _unsent(tg) == 0, 20)
        assert _delivered(fake, chat_id) == _expected(tg, first)
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert asyncio.run(finish_unfinished(tg, later)) == 0  # nothing left, nothing twice
    assert _delivered(fake, chat_id) == _expected(tg, first)


def test_messages_sent_while_limited_are_answered_in_order(tg: Engine, fake: FakeBotApi) -> None:
    chat_id = 7_700_002
    fake.rate_limit(chat_id, 2)
    updates = [_update(fake, chat_id, text) for text in ("hi", "1", "2")]
    with webhook_client(tg) as client:
        for update in updates:
            assert _timed_post(client, update) < FAST
        _wait_until(lambda: _unsent(tg) == 0, 30)
        assert _delivered(fake, chat_id) == _expected(tg, *updates)


def test_the_chats_own_pace_never_holds_the_webhook(tg: Engine, fake: FakeBotApi) -> None:
    assert telegram.PER_CHAT_RATE == 1.0  # about one a second, as Telegram asks
    chat_id = 7_700_003
    updates = [_update(fake, chat_id, text) for text in ("hi", "1", "menu", "help")]
    with webhook_client(tg) as client:
        for update in updates:  # faster than the pace: later replies must wait
            assert _timed_post(client, update) < FAST
        _wait_until(lambda: _unsent(tg) == 0, 30)
        assert _delivered(fake, chat_id) == _expected(tg, *updates)


def test_danger_while_limited_still_gets_the_999_guidance(tg: Engine, fake: FakeBotApi) -> None:
    chat_id = 7_700_004
    fake.rate_limit(chat_id, 2)
    update = _update(fake, chat_id, "hes at the door")
    with webhook_client(tg) as client:
        assert _timed_post(client, update) < FAST
        _wait_until(lambda: _unsent(tg) == 0, 20)
    [first, *_rest] = _delivered(fake, chat_id)
    assert "999" in first and "55" in first


def test_the_worker_leaves_a_held_turn_alone(tg: Engine, fake: FakeBotApi) -> None:
    chat_id = 7_700_005
    fake.rate_limit(chat_id, 8)
    update = _update(fake, chat_id, "hi")
    with webhook_client(tg) as client:
        assert _timed_post(client, update) < FAST
        time.sleep(0.5)
        # Past the worker's settling time, but the background sender holds the turn.
        soon = datetime.now(UTC) + timedelta(seconds=45)
        assert asyncio.run(finish_unfinished(tg, soon)) == 0
        _wait_until(lambda: _unsent(tg) == 0, 30)
        assert _delivered(fake, chat_id) == _expected(tg, update)


def test_a_server_killed_while_waiting_out_a_limit_loses_no_reply(
    tg: Engine, fake: FakeBotApi
) -> None:
    chat_id = 7_700_006
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
        fake.rate_limit(chat_id, 60)
        update = _update(fake, chat_id, "hi")
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        began = time.monotonic()
        response = httpx.post(f"{base}/telegram/webhook", json=update, headers=headers, timeout=30)
        assert response.status_code == 200 and time.monotonic() - began < FAST
        time.sleep(0.5)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
    assert _delivered(fake, chat_id) == []
    fake.limited.clear()  # the limit is over
    replies = stored_replies(tg, update["update_id"])
    now = datetime.now(UTC)
    assert asyncio.run(finish_unfinished(tg, now + timedelta(minutes=1))) == 0  # still held
    assert asyncio.run(finish_unfinished(tg, now + timedelta(minutes=3))) == len(replies)
    assert _delivered(fake, chat_id) == _expected(tg, update)
    assert asyncio.run(finish_unfinished(tg, now + timedelta(minutes=9))) == 0
    assert _unsent(tg) == 0
    with tg.db.session() as session:
        ids = list(session.execute(select(HandledMessage.provider_id)).scalars())
        session.commit()
    assert ids == [f"{BOT_ID}:{update['update_id']}"]


def test_exit_while_replies_wait_sends_nothing_more(tg: Engine, fake: FakeBotApi) -> None:
    chat_id = 7_700_007
    fake.rate_limit(chat_id, 5)  # long enough that a busy test machine still sees it hold
    with webhook_client(tg) as client:
        assert _timed_post(client, _update(fake, chat_id, "hi")) < FAST
        assert _timed_post(client, _update(fake, chat_id, "/exit")) < FAST
        time.sleep(6)  # past the limit: a reply still waiting would go now
    assert _delivered(fake, chat_id) == []
    assert fake.alive[chat_id] == set()  # the chat is wiped from the phone
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert asyncio.run(finish_unfinished(tg, later)) == 0  # nor does the worker send them
    assert _delivered(fake, chat_id) == []
