"""Texting with a worker through the real channels: SMS through the signed
webhook and a fake Twilio REST API on loopback, Telegram through its webhook
and the fake Bot API.

A worker's line goes through the outbox: the quick round the web app runs
(bot/web/chat_delivery.py) sends it, its status lands on the line (sent,
then delivered by Twilio's status callback; delivered by Telegram's send
result), a provider failure is retried without the line ever going twice,
and on Telegram EXIT's wipe takes the worker's lines off the phone too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.sms.send import SmsSender
from bot.channels.telegram import client as telegram
from bot.engine import Engine
from bot.storage import chats
from bot.storage.db import id_of
from bot.storage.models import ChatMessage, LiveChat, OutboundMessage
from bot.web.chat_delivery import ChatDelivery
from tests.conftest import own_danger_examples
from tests.fake_bot_api import FakeBotApi, FakeBotApiServer
from tests.fake_twilio_api import FakeTwilioState, Loopback, fake_twilio
from tests.sms_support import PERSON, SmsChat, post_signed, sms_engine, twiml_messages
from tests.telegram_driver import TelegramChat, telegram_engine, webhook_client

OPEN = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # a Monday afternoon: workers online
WORKER = 1


def chat_of(engine: Engine, channel: str, address: str) -> LiveChat:
    with engine.db.session() as session:
        found = session.execute(
            select(LiveChat).where(LiveChat.person_key == engine.vault.person_key(channel, address))
        ).scalar_one()
        session.commit()
    return found


def worker_says(engine: Engine, chat_id: int, text: str, now: datetime) -> ChatMessage:
    """What the dashboard does: claim (once), then a line stored and queued."""
    with engine.db.session() as session:
        chat = chats.get_chat(session, chat_id)
        assert chat is not None
        if chat.status == "waiting":
            assert chats.claim_chat(session, chat_id, WORKER, now, 3)
            session.refresh(chat)
        assert chats.can_reply(chat, WORKER, now, 15) is None
        line = chats.add_worker_message(session, engine.vault, chat, WORKER, text, now)
        session.commit()
    return line


def delivery_of(engine: Engine, line_id: int) -> str | None:
    with engine.db.session() as session:
        row = session.get(ChatMessage, line_id)
        session.commit()
    assert row is not None
    return row.delivery


# ----- SMS -------------------------------------------------------------------------
@pytest.fixture
def twilio() -> Iterator[FakeTwilioState]:
    with fake_twilio() as state:
        yield state


@pytest.fixture
def sms_chat(sqlite_engine: Engine) -> SmsChat:
    chat = SmsChat(sms_engine(sqlite_engine))
    chat.now = OPEN
    return chat


def sms_delivery(engine: Engine, twilio: FakeTwilioState, clock: list[datetime]) -> ChatDelivery:
    sender = SmsSender(engine.settings, Loopback(twilio.port))
    return ChatDelivery(engine.db, engine.vault, {"sms": sender}, clock=lambda: clock[0])


def into_sms_chat(chat: SmsChat) -> LiveChat:
    chat.start()
    chat.pick("ask_call")
    chat.pick("text_worker")
    chat.pick("start")
    assert chat.key == "live_chat.waiting"
    return chat_of(chat.engine, "sms", PERSON)


def test_sms_waiting_then_quiet_while_the_worker_will_answer(sms_chat: SmsChat) -> None:
    into_sms_chat(sms_chat)
    assert sms_chat.keys("Hello, I would like to talk to someone") == ["live_chat.received"]
    quiet = sms_chat.post("It has been hard lately")
    assert quiet.status_code == 200 and twiml_messages(quiet.text) == []
    danger = own_danger_examples("en")[0]
    assert sms_chat.keys(danger) == ["words.danger", "live_chat.signal_seen"]
    found = chat_of(sms_chat.engine, "sms", PERSON)
    assert "danger_now" in chats.signal_codes(found)
    assert sms_chat.keys("MENU") == ["live_chat.back_to_bot", "menus.me"]


def test_sms_worker_line_is_sent_then_delivered_by_the_status_callback(
    sms_chat: SmsChat, twilio: FakeTwilioState
) -> None:
    found = into_sms_chat(sms_chat)
    sms_chat.send("hello")
    line = worker_says(sms_chat.engine, id_of(found), "Hello, I'm Sam. Are you safe now?", OPEN)
    assert delivery_of(sms_chat.engine, id_of(line)) == "queued"
    clock = [OPEN]
    assert asyncio.run(sms_delivery(sms_chat.engine, twilio, clock).round()) == 1
    [got] = twilio.reached(PERSON)
    assert got.body == "Hello, I'm Sam. Are you safe now?"
    assert delivery_of(sms_chat.engine, id_of(line)) == "sent"
    with sms_chat.engine.db.session() as session:
        record = session.execute(
            select(OutboundMessage).where(OutboundMessage.outbox_id == line.outbox_id)
        ).scalar_one()
        session.commit()
    report = {"MessageSid": record.provider_id or "", "MessageStatus": "delivered", "To": PERSON}
    answer = post_signed(sms_chat.client, f"/sms/status?reply={record.id}", report)
    assert answer.status_code == 200
    assert delivery_of(sms_chat.engine, id_of(line)) == "delivered"
    assert asyncio.run(sms_delivery(sms_chat.engine, twilio, clock).round()) == 0
    assert len(twilio.reached(PERSON)) == 1, "sent once"


def test_sms_provider_failure_is_retried_and_never_sent_twice(
    sms_chat: SmsChat, twilio: FakeTwilioState
) -> None:
    found = into_sms_chat(sms_chat)
    sms_chat.send("hello")
    line = worker_says(sms_chat.engine, id_of(found), "Are you able to talk?", OPEN)
    clock = [OPEN]
    delivery = sms_delivery(sms_chat.engine, twilio, clock)
    twilio.fail_next(503, 20500)
    assert asyncio.run(delivery.round()) == 0
    assert [r.answered for r in twilio.received] == ["503"]
    assert delivery_of(sms_chat.engine, id_of(line)) == "queued", "surely not sent: try again"
    assert asyncio.run(delivery.round()) == 0, "not before its backoff"
    clock[0] = OPEN + timedelta(seconds=31)
    assert asyncio.run(delivery.round()) == 1
    assert [r.answered for r in twilio.received] == ["503", "accepted"]
    assert delivery_of(sms_chat.engine, id_of(line)) == "sent"
    # A send that may have reached Twilio (the connection dropped) is never repeated.
    second = worker_says(sms_chat.engine, id_of(found), "I'm still here.", clock[0])
    twilio.drop_next()
    asyncio.run(delivery.round())
    clock[0] += timedelta(hours=1)
    asyncio.run(delivery.round())
    assert [r.body for r in twilio.reached(PERSON)] == ["Are you able to talk?", "I'm still here."]
    assert delivery_of(sms_chat.engine, id_of(second)) == "failed", "staff see it may not have gone"


def test_sms_exit_mid_chat_drops_what_was_not_sent(
    sms_chat: SmsChat, twilio: FakeTwilioState
) -> None:
    found = into_sms_chat(sms_chat)
    sms_chat.send("hello")
    line = worker_says(sms_chat.engine, id_of(found), "One moment please.", OPEN)
    assert sms_chat.keys("EXIT") == ["words.exit"]
    assert asyncio.run(sms_delivery(sms_chat.engine, twilio, [OPEN]).round()) == 0
    assert twilio.received == []
    assert delivery_of(sms_chat.engine, id_of(line)) == "failed"
    assert chat_of(sms_chat.engine, "sms", PERSON).outcome == "person_exit"


# ----- Telegram --------------------------------------------------------------------
@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApiServer() as state:
        yield state


@pytest.fixture
def tg(sqlite_engine: Engine, tmp_path: Path, fake: FakeBotApi) -> Iterator[TelegramChat]:
    engine = telegram_engine(sqlite_engine, tmp_path, fake)
    # Buttons carry Telegram's own clock, so this runs now: with workers online.
    engine.flows["live_chat"].steps["in_hours"].applies = lambda _d: True
    with webhook_client(engine) as client:
        yield TelegramChat(engine, client, fake)


@pytest.fixture(autouse=True)
def typing_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test types faster than a person: lift Telegram's pace per chat."""
    monkeypatch.setattr(telegram, "PER_CHAT_RATE", 1000.0)


def until_delivered(engine: Engine, line_id: int) -> str | None:
    """The web app's own round sends the line (it polls every quarter second)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = delivery_of(engine, line_id)
        if state != "queued":
            return state
        time.sleep(0.05)
    return delivery_of(engine, line_id)


def test_telegram_chat_worker_line_delivered_and_wiped_by_exit(
    tg: TelegramChat, fake: FakeBotApi
) -> None:
    tg.start()
    tg.pick("ask_call")
    tg.pick("text_worker")
    tg.pick("start")
    assert tg.keys("Hello there") == ["live_chat.received"]
    found = chat_of(tg.engine, "telegram", tg.address)
    mark = fake.mark()
    now = datetime.now(UTC)
    line = worker_says(tg.engine, id_of(found), "Hello, I'm Sam from the service.", now)
    assert until_delivered(tg.engine, id_of(line)) == "delivered"
    [sent] = fake.since(mark, "sendMessage")
    assert sent.params["text"] == "Hello, I'm Sam from the service."
    worker_message = int(sent.result["message_id"])
    assert worker_message in fake.alive[tg.chat_id]
    assert tg.keys("thank you") == []
    replies = tg.send("EXIT")
    assert [r.key for r in replies] == ["words.exit"]
    assert fake.alive[tg.chat_id] == set(), "the worker's lines are gone from the phone too"
    assert chat_of(tg.engine, "telegram", tg.address).outcome == "person_exit"


def test_telegram_menu_button_hands_back_to_the_bot(tg: TelegramChat) -> None:
    tg.start()
    tg.pick("ask_call")
    tg.pick("text_worker")
    tg.pick("start")
    assert tg.pick("leave")[0].key == "live_chat.back_to_bot"
    assert tg.key == "menus.me"
    found = chat_of(tg.engine, "telegram", tg.address)
    assert found.status == "ended" and found.outcome == "person_menu"


# ----- "Text with a worker" in the main menus (issue 12) ---------------------------
def test_sms_text_with_a_worker_from_the_main_menu(sms_chat: SmsChat) -> None:
    sms_chat.start()
    assert sms_chat.key == "menus.me"
    assert "Text with a worker" in " ".join(m.body for m in sms_chat.messages)
    sms_chat.pick("text_worker")
    assert sms_chat.key == "live_chat.in_hours"
    sms_chat.pick("start")
    assert sms_chat.keys("Hello, I need to talk") == ["live_chat.received"]
    found = chat_of(sms_chat.engine, "sms", PERSON)
    assert found.status == "waiting" and not found.is_message


def test_sms_typed_words_reach_a_worker_from_the_menu_out_of_hours(sms_chat: SmsChat) -> None:
    sms_chat.now = OPEN.replace(hour=22)  # Monday 22:00: workers are offline
    sms_chat.start()
    assert sms_chat.keys("text a worker") == ["live_chat.closed"]
    assert sms_chat.keys("no") == ["live_chat.not_safe"]


def test_which_main_menus_offer_a_worker_by_text(sms_chat: SmsChat) -> None:
    offered = {}
    for audience in ("me", "someone_else", "own_behaviour", "professional"):
        sms_chat.send("EXIT")  # each audience from a fresh start
        sms_chat.start(audience)
        offered[audience] = "text_worker" in sms_chat.option_ids()
        assert "ask_call" in sms_chat.option_ids()
    assert offered == {
        "me": True,
        "someone_else": False,
        "own_behaviour": False,
        "professional": False,
    }


def test_telegram_text_with_a_worker_from_the_main_menu(tg: TelegramChat, fake: FakeBotApi) -> None:
    tg.start()
    assert tg.key == "menus.me"
    tg.pick("text_worker")
    assert tg.key == "live_chat.in_hours"
    tg.pick("start")
    assert tg.keys("Hello there") == ["live_chat.received"]
    found = chat_of(tg.engine, "telegram", tg.address)
    now = datetime.now(UTC)
    line = worker_says(tg.engine, id_of(found), "Hello, I'm Sam.", now)
    assert until_delivered(tg.engine, id_of(line)) == "delivered"


# ----- a message left out of hours is a conversation, not a dead letter (issue 12) ----
CLOSED = OPEN.replace(hour=22)  # Monday 22:00: workers are offline
TUESDAY = CLOSED + timedelta(hours=12, minutes=30)  # Tue 10:30: workers online, a safe time


def test_sms_a_message_left_grows_then_the_reply_to_the_worker_reaches_them(
    sms_chat: SmsChat, twilio: FakeTwilioState
) -> None:
    sms_chat.now = CLOSED
    sms_chat.start()
    sms_chat.pick("text_worker")
    sms_chat.pick("yes")
    sms_chat.pick("asap")
    assert sms_chat.keys("Please text me about refuge") == ["live_chat.left"]
    assert sms_chat.keys("My sister can help too") == ["live_chat.added"]
    assert "safe time" in sms_chat.messages[0].body
    danger = own_danger_examples("en")[0]
    assert sms_chat.keys(danger) == ["words.danger", "live_chat.added"]
    assert sms_chat.keys("MENU") == ["menus.me"], "back to the bot; the message waits"
    found = chat_of(sms_chat.engine, "sms", PERSON)
    assert found.is_message and found.status == "waiting" and found.outcome is None
    assert "danger_now" in chats.signal_codes(found)
    # Next morning a worker answers; the person, in the bot since, replies to them.
    line = worker_says(sms_chat.engine, id_of(found), "Hi, it's Sam. Is now OK?", TUESDAY)
    assert asyncio.run(sms_delivery(sms_chat.engine, twilio, [TUESDAY]).round()) == 1
    assert [m.body for m in twilio.reached(PERSON)] == ["Hi, it's Sam. Is now OK?"]
    sms_chat.now = TUESDAY + timedelta(minutes=45)
    quiet = sms_chat.post("Yes, he is at work")
    assert quiet.status_code == 200 and twiml_messages(quiet.text) == [], "the worker answers"
    said = [(x.author, x.text) for x in lines_of(sms_chat.engine, id_of(found))]
    assert said == [
        ("person", "Please text me about refuge"),
        ("person", "My sister can help too"),
        ("person", danger),
        ("worker", "Hi, it's Sam. Is now OK?"),
        ("person", "Yes, he is at work"),
    ]
    assert delivery_of(sms_chat.engine, id_of(line)) == "sent"
    assert sms_chat.keys("EXIT") == ["words.exit"]
    assert chat_of(sms_chat.engine, "sms", PERSON).outcome == "person_exit"


def lines_of(engine: Engine, chat_id: int) -> list[chats.ChatLine]:
    with engine.db.session() as session:
        found = chats.messages(session, engine.vault, chat_id)
        session.commit()
    return found


def test_telegram_a_message_left_takes_later_texts_and_exit_drops_it(
    tg: TelegramChat,
) -> None:
    tg.engine.flows["live_chat"].steps["in_hours"].applies = lambda _d: False
    tg.start()
    tg.pick("text_worker")
    assert tg.key == "live_chat.closed"
    tg.pick("yes")
    tg.pick("asap")
    assert tg.keys("Please text me about refuge") == ["live_chat.left"]
    assert tg.keys("My sister can help too") == ["live_chat.added"]
    found = chat_of(tg.engine, "telegram", tg.address)
    assert [x.text for x in lines_of(tg.engine, id_of(found))] == [
        "Please text me about refuge",
        "My sister can help too",
    ]
    pressed = tg.send(choice="main_menu")  # the "message left" prompt's button, still there
    assert [r.key for r in pressed] == ["menus.me"], "back to the bot"
    assert chat_of(tg.engine, "telegram", tg.address).status == "waiting"
    replies = tg.send("EXIT")
    assert [r.key for r in replies] == ["words.exit"], "from the bot, EXIT ends it too"
    ended = chat_of(tg.engine, "telegram", tg.address)
    assert ended.status == "ended" and ended.outcome == "person_exit"


def test_telegram_a_reply_after_the_worker_answered_reaches_them(
    tg: TelegramChat, fake: FakeBotApi
) -> None:
    tg.engine.flows["live_chat"].steps["in_hours"].applies = lambda _d: False
    tg.start()
    tg.pick("text_worker")
    tg.pick("yes")
    tg.pick("asap")
    assert tg.keys("Please text me about refuge") == ["live_chat.left"]
    found = chat_of(tg.engine, "telegram", tg.address)
    line = worker_says(tg.engine, id_of(found), "Hi, it's Sam from the service.", datetime.now(UTC))
    assert until_delivered(tg.engine, id_of(line)) == "delivered"
    replies = tg.send("Thank you, I can talk now")
    assert [r.key for r in replies] in ([], ["live_chat.added"])  # the latter out of hours
    said = [(x.author, x.text) for x in lines_of(tg.engine, id_of(found))]
    assert said[-2:] == [
        ("worker", "Hi, it's Sam from the service."),
        ("person", "Thank you, I can talk now"),
    ]
    assert tg.keys("MENU") == ["live_chat.back_to_bot", "menus.me"]
    assert chat_of(tg.engine, "telegram", tg.address).outcome == "person_menu"
