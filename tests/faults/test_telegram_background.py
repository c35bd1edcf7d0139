"""Telegram rate limits never hold the webhook, and no reply is lost or doubled.

The fake Bot API (tests/fake_bot_api.py, real HTTP on loopback) answers every
send to a chat with 429 and retry_after for as long as a test says, as
Telegram does for a chat that gets too much, or until the test lifts the
limit. The webhook answers while the limit still holds (so it cannot have
waited it out); the replies follow in the background, in order, each exactly
once; a server killed with SIGKILL while it waits leaves them to the worker,
which does not touch a turn still held by a live sender. Nothing here is
measured by the clock: each check is a condition that a webhook which waited
could not meet.
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.channels.telegram import client as telegram
from bot.channels.telegram.render import telegram_messages
from bot.channels.telegram.send import finish_unfinished
from bot.engine import Engine
from bot.storage.models import HandledMessage
from tests.dashboard_support import free_port
from tests.fake_bot_api import BOT_ID, FakeBotApi
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

HANG = 60  # seconds: only to turn a webhook that never answers into a failure


@pytest.fixture
def tg(engine: Engine, tmp_path: Path, fake: FakeBotApi) -> Engine:
    return telegram_engine(engine, tmp_path, fake)


def _update(fake: FakeBotApi, chat_id: int, text: str) -> dict:
    return {"update_id": next_update_id(), "message": text_message(fake, chat_id, text)}


class HeldLimit:
    """A rate limit on one chat that holds until the test lifts it: every send to
    the chat meanwhile gets 429 with retry_after 1, however long that takes. A
    webhook that waited out the limit would never answer while it holds."""

    def __init__(self, fake: FakeBotApi, chat_id: int) -> None:
        self.chat_id, self.lifted = chat_id, threading.Event()
        others = fake.limit_left

        def limit_left(params: dict[str, Any]) -> int:
            if self.lifted.is_set() or str(params.get("chat_id")) != str(chat_id):
                return others(params)
            return 1

        fake.limit_left = limit_left  # the fake asks its state how long a chat must wait

    @property
    def holds(self) -> bool:
        return not self.lifted.is_set()

    def lift(self) -> None:
        self.lifted.set()


def _answered_while_held(client, update: dict, limit: HeldLimit) -> None:  # noqa: ANN001
    """Post the update; its answer must come while the limit still holds."""
    answered: list[int] = []
    poster = threading.Thread(target=lambda: answered.append(post(client, update)))
    poster.start()
    poster.join(HANG)
    assert answered == [200], "the webhook waited for the rate limit to lift"
    assert limit.holds


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


def _refused(fake: FakeBotApi, chat_id: int) -> bool:
    """Whether a send to this chat has met the rate limit."""
    return any(
        c.method == "sendMessage" and c.result is None and int(c.params["chat_id"]) == chat_id
        for c in list(fake.calls)
    )


def _claimed(tg: Engine, update_id: int) -> bool:
    """Whether a sender's claim on this turn is stored (the worker leaves it alone)."""
    with tg.db.session() as session:
        claimed_at = session.execute(
            select(HandledMessage.delivery_claimed_at).where(
                HandledMessage.provider_id == f"{BOT_ID}:{update_id}"
            )
        ).scalar_one_or_none()
        session.commit()
    return claimed_at is not None


def _unsent(tg: Engine) -> int:
    with tg.db.session() as session:
        rows = session.execute(select(HandledMessage.reply_count, HandledMessage.delivered)).all()
        session.commit()
    return sum(count - delivered for count, delivered in rows)


def test_the_webhook_answers_at_once_and_the_replies_follow_exactly_once(
    tg: Engine, fake: FakeBotApi
) -> None:
    chat_id = 7_700_001
    limit = HeldLimit(fake, chat_id)
    first = _update(fake, chat_id, "hi")
    with webhook_client(tg) as client:
        _answered_while_held(client, first, limit)  # never waits out the 429
        assert _delivered(fake, chat_id) == []  # still limited: nothing went yet
        assert any(c.method == "sendMessage" for c in fake.calls), "it met the 429"
        limit.lift()
        _wait_until(lambda: _unsent(tg) == 0, 20)
        assert _delivered(fake, chat_id) == _expected(tg, first)
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert asyncio.run(finish_unfinished(tg, later)) == 0  # nothing left, nothing twice
    assert _delivered(fake, chat_id) == _expected(tg, first)


def test_messages_sent_while_limited_are_answered_in_order(tg: Engine, fake: FakeBotApi) -> None:
    chat_id = 7_700_002
    limit = HeldLimit(fake, chat_id)
    updates = [_update(fake, chat_id, text) for text in ("hi", "1", "2")]
    with webhook_client(tg) as client:
        for update in updates:
            _answered_while_held(client, update, limit)
        assert _delivered(fake, chat_id) == []
        limit.lift()
        _wait_until(lambda: _unsent(tg) == 0, 30)
        assert _delivered(fake, chat_id) == _expected(tg, *updates)


def test_the_chats_own_pace_never_holds_the_webhook(tg: Engine, fake: FakeBotApi) -> None:
    assert telegram.PER_CHAT_RATE == 1.0  # about one a second, as Telegram asks
    chat_id = 7_700_003
    updates = [_update(fake, chat_id, text) for text in ("hi", "1", "menu", "help")]
    with webhook_client(tg) as client:
        waiting = []  # replies still to go when each later update was answered
        for update in updates:  # faster than the pace: later replies must wait
            assert post(client, update) == 200
            waiting.append(_unsent(tg))
        # A webhook that waited for the pace would answer only once its replies had gone.
        assert any(waiting[1:]), "the webhook waited for the chat's pace"
        _wait_until(lambda: _unsent(tg) == 0, 30)
        assert _delivered(fake, chat_id) == _expected(tg, *updates)


def test_danger_while_limited_still_gets_the_999_guidance(tg: Engine, fake: FakeBotApi) -> None:
    chat_id = 7_700_004
    limit = HeldLimit(fake, chat_id)
    update = _update(fake, chat_id, "hes at the door")
    with webhook_client(tg) as client:
        _answered_while_held(client, update, limit)
        limit.lift()
        _wait_until(lambda: _unsent(tg) == 0, 20)
    [first, *_rest] = _delivered(fake, chat_id)
    assert "999" in first and "55" in first


def test_the_worker_leaves_a_held_turn_alone(tg: Engine, fake: FakeBotApi) -> None:
    chat_id = 7_700_005
    limit = HeldLimit(fake, chat_id)
    update = _update(fake, chat_id, "hi")
    with webhook_client(tg) as client:
        _answered_while_held(client, update, limit)
        # Past the worker's settling time, but the background sender holds the turn.
        soon = datetime.now(UTC) + timedelta(seconds=45)
        assert asyncio.run(finish_unfinished(tg, soon)) == 0
        assert _delivered(fake, chat_id) == []
        limit.lift()
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
        limit = HeldLimit(fake, chat_id)
        update = _update(fake, chat_id, "hi")
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        response = httpx.post(
            f"{base}/telegram/webhook", json=update, headers=headers, timeout=HANG
        )
        assert response.status_code == 200 and limit.holds  # answered while limited
        # The server has met the limit and its sender holds the turn (a stored claim).
        _wait_until(lambda: _refused(fake, chat_id) and _claimed(tg, update["update_id"]))
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
    assert _delivered(fake, chat_id) == []
    limit.lift()  # the limit is over
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
    limit = HeldLimit(fake, chat_id)
    with webhook_client(tg) as client:
        for text in ("hi", "/exit"):
            _answered_while_held(client, _update(fake, chat_id, text), limit)
        background = client.app.state.telegram.background
        _wait_until(lambda: not background.busy(chat_id), 20)  # nothing waits for the chat
        tries = len(fake.called("sendMessage"))
        limit.lift()
        time.sleep(2)  # a reply still waiting would go at its sender's next try (1 s)
    assert [c for c in fake.called("sendMessage")[tries:] if int(c["chat_id"]) == chat_id] == []
    assert _delivered(fake, chat_id) == []
    assert fake.alive[chat_id] == set()  # the chat is wiped from the phone
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert asyncio.run(finish_unfinished(tg, later)) == 0  # nor does the worker send them
    assert _delivered(fake, chat_id) == []
