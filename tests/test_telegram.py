"""The Telegram channel against a local Bot API: signed webhook, dedupe, buttons,
HTML, commands, what is not text, groups, the EXIT wipe, set-webhook, polling
and the worker's sender. Runs on SQLite and PostgreSQL where the database
matters."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import SQLModel

from bot import cli
from bot.channels.telegram import client as telegram
from bot.channels.telegram.client import ChatRateLimiter, make_bot
from bot.channels.telegram.render import telegram_messages
from bot.channels.telegram.send import TelegramSender, send_reply
from bot.channels.telegram.setup import poll, set_webhook
from bot.engine import Engine
from bot.outbox import SendDeferred, enqueue, send_due
from bot.storage.db import utc
from bot.storage.models import (
    Conversation,
    HandledMessage,
    OutboundMessage,
    Outbox,
    TelegramMessage,
)
from bot.types import Option, Reply
from tests.fake_bot_api import BOT_ID, TOKEN, FakeBotApi
from tests.telegram_driver import (
    SECRET,
    TelegramChat,
    callback_update,
    next_update_id,
    post,
    private_chat,
    stored_replies,
    telegram_engine,
    text_message,
    user,
    webhook_client,
)

CHAT = 424242


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests type faster than people: lift the one-a-second pace per chat."""
    monkeypatch.setattr(telegram, "PER_CHAT_RATE", 1000.0)


@pytest.fixture
def tg_engine(engine: Engine, tmp_path: Path, fake: FakeBotApi, fast: None) -> Engine:
    return telegram_engine(engine, tmp_path, fake)


@pytest.fixture
def client(tg_engine: Engine) -> Iterator[TestClient]:
    with webhook_client(tg_engine) as test_client:
        yield test_client


def rows(engine: Engine, table: type[SQLModel]) -> int:
    with engine.db.session() as session:
        count = session.execute(select(func.count()).select_from(table)).scalar_one()
        session.commit()
    return count


def snapshot(engine: Engine) -> tuple[int, ...]:
    return tuple(
        rows(engine, t) for t in (Conversation, HandledMessage, TelegramMessage, OutboundMessage)
    )


def message_update(fake: FakeBotApi, text: str, chat_id: int = CHAT, **extra: Any) -> dict:
    return {"update_id": next_update_id(), "message": text_message(fake, chat_id, text, **extra)}


def sent_texts(fake: FakeBotApi, mark: int = 0) -> list[str]:
    return [c.params["text"] for c in fake.since(mark, "sendMessage")]


# ----- the webhook's door ---------------------------------------------------------
@pytest.mark.parametrize("secret", [None, "", "wrong-secret", SECRET + "x", SECRET.upper()])
def test_forged_or_missing_secret_is_refused_and_changes_nothing(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi, secret: str | None
) -> None:
    before = snapshot(tg_engine)
    assert post(client, message_update(fake, "hello"), secret=secret) == 403
    assert snapshot(tg_engine) == before == (0, 0, 0, 0)
    assert fake.called("sendMessage") == []


def test_the_right_secret_is_answered(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    update = message_update(fake, "hello")
    assert post(client, update) == 200
    keys = [r.key for r in stored_replies(tg_engine, update["update_id"])]
    assert keys == ["first_contact.greeting", "first_contact.safe_to_text"]
    assert len(fake.called("sendMessage")) == 2


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b'{"message": {"text": 1}}'])
def test_unreadable_update_gets_a_calm_400_and_changes_nothing(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi, body: bytes
) -> None:
    response = client.post(
        "/telegram/webhook",
        content=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "Traceback" not in response.text and "error" in response.json()
    assert snapshot(tg_engine) == (0, 0, 0, 0)
    assert fake.called("sendMessage") == []


def test_without_a_webhook_secret_the_channel_stays_off(
    engine: Engine, tmp_path: Path, fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    no_secret = telegram_engine(engine, tmp_path, fake, telegram_webhook_secret="")
    caplog.set_level(logging.INFO, logger="bot.channels.telegram")
    with webhook_client(no_secret) as client:
        response = client.post("/telegram/webhook", json=message_update(fake, "hello"))
        assert response.status_code == 404
        assert client.get("/healthz").status_code == 200
    assert "Telegram channel off: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET" in caplog.text
    assert fake.calls == []  # not even getMe


def test_start_up_with_telegram_unreachable_keeps_the_app_running(
    engine: Engine, tmp_path: Path, fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = telegram_engine(engine, tmp_path, fake, telegram_api_base_url="http://127.0.0.1:1")
    caplog.set_level(logging.INFO)
    with webhook_client(nowhere) as client:
        assert client.get("/healthz").status_code == 200
        # Not processed, so Telegram keeps it and delivers it again later.
        assert post(client, message_update(fake, "hello")) == 503
    assert snapshot(nowhere) == (0, 0, 0, 0)
    assert "Telegram channel on at /telegram/webhook" in caplog.text
    assert "Bot API not reachable (NetworkError)" in caplog.text
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


def test_logs_hold_no_text_chat_id_token_or_secret(
    tg_engine: Engine, fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with webhook_client(tg_engine) as client:
        chat = TelegramChat(tg_engine, client, fake, CHAT)
        chat.send("hello bluebell")
        chat.pick("yes")
        chat.send("marigold")
        post(client, message_update(fake, "", **NOT_TEXT["photo"]))
        chat.send("exit")
    assert caplog.records  # the libraries did log
    for secret in ("bluebell", "marigold", str(CHAT), TOKEN.split(":")[1], SECRET):
        assert secret not in caplog.text


# ----- dedupe -----------------------------------------------------------------------
def test_a_repeated_update_is_answered_once(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    update = message_update(fake, "hello")
    assert post(client, update) == 200
    first = sent_texts(fake)
    mark = fake.mark()
    assert post(client, update) == 200  # Telegram delivers it again
    assert fake.since(mark, "sendMessage") == []
    assert len(first) == 2 and rows(tg_engine, HandledMessage) == 1


def test_a_repeated_button_press_is_answered_once(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    chat = TelegramChat(tg_engine, client, fake, CHAT)
    chat.send("hello")
    press = callback_update(CHAT, chat.buttons_on or 0, "yes")
    assert post(client, press) == 200
    assert [r.key for r in stored_replies(tg_engine, press["update_id"])] == ["who.ask"]
    mark = fake.mark()
    assert post(client, press) == 200
    assert fake.since(mark, "sendMessage") == []


# ----- buttons and formatting -------------------------------------------------------
def test_options_are_buttons_one_per_row_and_a_press_is_answered(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    chat = TelegramChat(tg_engine, client, fake, CHAT)
    chat.send("hello")
    question = fake.called("sendMessage")[-1]
    rows_ = question["reply_markup"]["inline_keyboard"]
    assert [[b["callback_data"] for b in row] for row in rows_] == [
        ["yes"],
        ["not_now"],
        ["danger"],
    ]
    assert all(len(row) == 1 and row[0]["text"] for row in rows_)
    old = chat.buttons_on
    chat.pick("yes")  # the driver checks answerCallbackQuery and the removed buttons
    assert chat.key == "who.ask"
    # The old question's button pressed again anyway: the engine says so, calmly.
    mark = fake.mark()
    press = callback_update(CHAT, old or 0, "danger")
    assert post(client, press) == 200
    keys = [r.key for r in stored_replies(tg_engine, press["update_id"])]
    assert keys[0] == "words.old_question" and keys[-1] == "who.ask"
    assert len(fake.since(mark, "answerCallbackQuery")) == 1


def test_replies_are_html_with_bold_and_escaped_text() -> None:
    reply = Reply("k", "plain", "**Call 999** if <he> & she are here", "en", (Option("a", "A"),))
    [(text, markup)] = telegram_messages(reply)
    assert text == "<b>Call 999</b> if &lt;he&gt; &amp; she are here"
    assert markup.to_dict() == {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}


def test_danger_reply_goes_out_as_html(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    assert post(client, message_update(fake, "help me now")) == 200
    [call] = fake.called("sendMessage")
    assert call["parse_mode"] == "HTML" and "<b>Please call 999 now.</b>" in call["text"]
    assert call["link_preview_options"] == {"is_disabled": True}


def test_formatting_telegram_refuses_falls_back_to_plain_text(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    fake.fail_next("sendMessage", 400, "Bad Request: can't parse entities")
    update = message_update(fake, "help me now")
    assert post(client, update) == 200
    [danger] = stored_replies(tg_engine, update["update_id"])
    refused, plain = fake.called("sendMessage")
    assert refused["parse_mode"] == "HTML"
    assert plain["text"] == danger.sms and "parse_mode" not in plain
    assert rows(tg_engine, TelegramMessage) == 2  # the message and the plain answer


def test_a_long_reply_is_split_below_4096_with_buttons_on_the_last_part() -> None:
    lines = [f"Line {n}: " + "word " * 30 + "ünïcödé 🙂" for n in range(120)]
    reply = Reply("k", "x", "\n".join(lines), "en", (Option("a", "A"),))
    parts = telegram_messages(reply)
    assert len(parts) > 1
    assert all(len(text.encode("utf-16-le")) // 2 <= 4096 for text, _ in parts)
    assert [markup is not None for _, markup in parts] == [False] * (len(parts) - 1) + [True]
    assert "\n".join(text for text, _ in parts) == "\n".join(lines)
    one_line = Reply("k", "x", "word " * 2000, "en")
    assert all(len(text) <= 4096 for text, _ in telegram_messages(one_line))
    assert " ".join(t for t, _ in telegram_messages(one_line)).split() == ["word"] * 2000


def test_right_to_left_text_arrives_intact(
    fake: FakeBotApi, tmp_path: Path, engine: Engine
) -> None:
    settings = telegram_engine(engine, tmp_path, fake).settings
    urdu = "کیا آپ ابھی محفوظ ہیں؟ **999** پر کال کریں"
    reply = Reply("k", urdu, urdu, "ur", (Option("yes", "جی ہاں"),), direction="rtl")

    async def go() -> list[int]:
        async with make_bot(settings) as bot:
            return await send_reply(bot, CHAT, reply)

    ids = asyncio.run(go())
    [call] = fake.called("sendMessage")
    assert call["text"] == "کیا آپ ابھی محفوظ ہیں؟ <b>999</b> پر کال کریں"
    assert call["reply_markup"]["inline_keyboard"][0][0]["text"] == "جی ہاں"
    assert ids == [1]


# ----- commands -------------------------------------------------------------------
def test_commands_reach_the_engine(tg_engine: Engine, client: TestClient, fake: FakeBotApi) -> None:
    def keys(text: str) -> list[str]:
        update = message_update(fake, text)
        assert post(client, update) == 200
        return [r.key for r in stored_replies(tg_engine, update["update_id"])]

    assert keys("/help") == ["words.help", "first_contact.greeting", "first_contact.safe_to_text"]
    assert keys("/start@FrontDoorTestBot") == ["first_contact.safe_to_text"]
    assert keys("/language")[-1] == "language.choose"
    assert keys("/back")[-1] == "first_contact.safe_to_text"
    assert keys("/menu")[-1] in ("who.ask", "menus.me")
    assert keys("/EXIT") == ["words.exit"]
    assert keys("/start") == ["first_contact.greeting", "first_contact.safe_to_text"]
    # Not one of ours: plain text for the engine, which explains and asks again.
    assert keys("/unknown")[0] == "words.not_understood"


# ----- what is not text -------------------------------------------------------------
NOT_TEXT = {
    "sticker": {
        "sticker": {
            "file_id": "s1",
            "file_unique_id": "u1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    },
    "photo": {"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]},
    "voice": {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 3}},
    "video": {
        "video": {
            "file_id": "vi1",
            "file_unique_id": "u4",
            "width": 1,
            "height": 1,
            "duration": 1,
        }
    },
    "document": {"document": {"file_id": "d1", "file_unique_id": "u5"}},
    "location": {"location": {"latitude": 51.5, "longitude": 0.7}},
    "contact": {"contact": {"phone_number": "+447700900999", "first_name": "X"}},
    "poll": {
        "poll": {
            "id": "1",
            "question": "?",
            "options": [{"text": "a", "voter_count": 0, "persistent_id": "o1"}],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
    },
}


@pytest.mark.parametrize("kind", sorted(NOT_TEXT))
def test_what_is_not_text_gets_a_clear_reply_and_only_its_id_is_kept(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi, kind: str
) -> None:
    update = message_update(fake, "", **NOT_TEXT[kind])
    assert post(client, update) == 200
    [call] = fake.called("sendMessage")
    expected = tg_engine.content.reply("channels.only_text", "en", options=[])
    assert call["text"] == telegram_messages(expected)[0][0]
    # No conversation, no handled message: only the two ids EXIT must delete.
    assert snapshot(tg_engine) == (0, 0, 2, 0)
    assert post(client, update) == 200  # a repeated delivery is not answered twice
    assert len(fake.called("sendMessage")) == 1


def test_an_edited_message_is_explained(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    chat = TelegramChat(tg_engine, client, fake, CHAT)
    chat.send("hello")
    edited = text_message(fake, CHAT, "hello there", edit_date=int(datetime.now(UTC).timestamp()))
    mark = fake.mark()
    assert post(client, {"update_id": 9001, "edited_message": edited}) == 200
    [text] = sent_texts(fake, mark)
    expected = tg_engine.content.reply("channels.edited", "en", options=[])
    assert text == telegram_messages(expected)[0][0]
    assert rows(tg_engine, HandledMessage) == 1  # the edit never reached the conversation


def test_notices_speak_the_persons_language(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    message = text_message(fake, CHAT, "", **NOT_TEXT["sticker"])
    message["from"] = user(CHAT, language_code="pl")
    assert post(client, {"update_id": 9100, "message": message}) == 200
    expected = tg_engine.content.reply("channels.only_text", "pl", options=[])
    assert fake.called("sendMessage")[0]["text"] == telegram_messages(expected)[0][0]
    assert expected.sms != tg_engine.content.reply("channels.only_text", "en").sms


# ----- groups and bots ----------------------------------------------------------------
@pytest.mark.parametrize("chat_type", ["group", "supergroup", "channel"])
def test_in_a_group_the_bot_is_silent_and_leaves(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi, chat_type: str
) -> None:
    group = {"id": -100123, "type": chat_type, "title": "Family"}
    update = {"update_id": 9200, "message": text_message(fake, -100123, "hello", chat=group)}
    assert post(client, update) == 200
    added = {
        "update_id": 9201,
        "my_chat_member": {
            "chat": group,
            "from": user(CHAT),
            "date": int(datetime.now(UTC).timestamp()),
            "old_chat_member": {
                "status": "left",
                "user": {"id": BOT_ID, "is_bot": True, "first_name": "FD"},
            },
            "new_chat_member": {
                "status": "member",
                "user": {"id": BOT_ID, "is_bot": True, "first_name": "FD"},
            },
        },
    }
    assert post(client, added) == 200
    assert [int(c["chat_id"]) for c in fake.called("leaveChat")] == [-100123, -100123]
    assert fake.called("sendMessage") == []
    assert snapshot(tg_engine) == (0, 0, 0, 0)


def test_a_button_pressed_in_a_group_is_not_answered(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    press = callback_update(CHAT, 5, "yes")
    press["callback_query"]["message"]["chat"] = {"id": -100777, "type": "supergroup", "title": "G"}
    assert post(client, press) == 200
    assert fake.called("sendMessage") == [] and snapshot(tg_engine) == (0, 0, 0, 0)
    assert [int(c["chat_id"]) for c in fake.called("leaveChat")] == [-100777]


def test_messages_from_bots_are_ignored(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    message = text_message(fake, CHAT, "hello")
    message["from"] = user(CHAT, is_bot=True)
    assert post(client, {"update_id": 9300, "message": message}) == 200
    assert fake.called("sendMessage") == [] and snapshot(tg_engine) == (0, 0, 0, 0)


def test_blocking_the_bot_in_private_changes_nothing(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "FD"}
    update = {
        "update_id": 9400,
        "my_chat_member": {
            "chat": private_chat(CHAT),
            "from": user(CHAT),
            "date": int(datetime.now(UTC).timestamp()),
            "old_chat_member": {"status": "member", "user": bot_user},
            "new_chat_member": {"status": "kicked", "user": bot_user, "until_date": 0},
        },
    }
    assert post(client, update) == 200
    assert fake.called("leaveChat") == [] and fake.called("sendMessage") == []
    assert snapshot(tg_engine) == (0, 0, 0, 0)


# ----- the EXIT wipe --------------------------------------------------------------------
def test_exit_deletes_every_message_of_the_chat_in_batches_of_100(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    chat = TelegramChat(tg_engine, client, fake, CHAT)
    other = TelegramChat(tg_engine, client, fake, CHAT + 1)
    other.send("hello")
    chat.send("hello")
    while len(fake.seen[CHAT]) < 150:
        chat.send("something I typed")  # each gets an answer: two ids a time
        chat.send("help")
    photo = {"update_id": 9500, "message": text_message(fake, CHAT, "", **NOT_TEXT["photo"])}
    assert post(client, photo) == 200
    seen = set(fake.seen[CHAT])
    assert len(seen) > 150 and fake.alive[CHAT] == seen
    mark = fake.mark()
    chat.send("exit")  # the driver checks nothing is sent and the phone is wiped
    deletes = fake.since(mark, "deleteMessages")
    assert all(len(c.params["message_ids"]) <= 100 for c in deletes) and len(deletes) >= 2
    assert seen < fake.seen[CHAT]  # and the EXIT message itself
    assert {i for c in deletes for i in c.params["message_ids"]} == fake.seen[CHAT]
    assert all(int(c.params["chat_id"]) == CHAT for c in deletes)
    assert fake.alive[CHAT] == set()
    assert fake.alive[CHAT + 1] == fake.seen[CHAT + 1] != set()  # someone else's chat stays
    person = tg_engine.vault.person_key("telegram", str(CHAT))
    with tg_engine.db.session() as session:
        left = session.execute(
            select(func.count()).where(TelegramMessage.person_key == person)
        ).scalar_one()
    assert left == 0 and rows(tg_engine, TelegramMessage) == len(fake.seen[CHAT + 1])
    # Nothing more is sent; the next message starts afresh.
    assert chat.keys("hi") == ["first_contact.greeting", "first_contact.safe_to_text"]


def test_exit_by_command_and_by_word_wipe_too(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    chat = TelegramChat(tg_engine, client, fake, CHAT)
    chat.send("hello")
    chat.send("/exit", command="exit")
    assert fake.alive[CHAT] == set() and len(fake.seen[CHAT]) == 4
    chat.send("hello")
    chat.send("EXIT!")
    assert fake.alive[CHAT] == set() and len(fake.seen[CHAT]) == 8


def test_a_batch_telegram_refuses_is_forgotten_and_one_that_failed_is_kept(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    chat = TelegramChat(tg_engine, client, fake, CHAT)
    chat.send("hello")  # three ids: hello, greeting, question
    fake.fail_next("deleteMessages", 400, "Bad Request: message can't be deleted")
    mark = fake.mark()
    assert post(client, message_update(fake, "exit")) == 200
    assert len(fake.since(mark, "deleteMessages")) == 1
    assert rows(tg_engine, TelegramMessage) == 0  # too old to delete: nothing to keep
    chat.send("hello")
    fake.fail_next("deleteMessages", 500, "Internal Server Error")
    assert post(client, message_update(fake, "exit")) == 200
    assert rows(tg_engine, TelegramMessage) == 4  # kept: the next EXIT tries again
    mark = fake.mark()
    assert post(client, message_update(fake, "exit")) == 200
    [delete] = fake.since(mark, "deleteMessages")
    assert len(delete.params["message_ids"]) == 5
    assert rows(tg_engine, TelegramMessage) == 0


# ----- limits ---------------------------------------------------------------------------
def test_a_429_on_a_reply_is_waited_out_and_sent(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi
) -> None:
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    update = message_update(fake, "hello")
    assert post(client, update) == 200  # at once: the replies follow in the background
    deadline = time.monotonic() + 10
    while len(fake.called("sendMessage")) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    texts = sent_texts(fake)
    assert len(fake.called("sendMessage")) == 3  # one refused, then both parts
    expected = [telegram_messages(r)[0][0] for r in stored_replies(tg_engine, update["update_id"])]
    assert texts[1:] == expected


def test_private_chats_are_paced_about_one_message_a_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limiter = ChatRateLimiter()
    assert telegram.PER_CHAT_RATE == 1.0 and telegram.PER_CHAT_BURST == 3
    seen: list[str] = []

    async def call(*_args: Any, **_kwargs: Any) -> bool:
        seen.append("sent")
        return True

    async def go() -> None:
        for _ in range(3):
            await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": CHAT}, None)
        await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": -100}, None)
        bucket = limiter._limiter_for(CHAT)
        assert not bucket.has_capacity()  # a fourth message to this chat would wait
        assert bucket.max_rate / bucket.time_period == pytest.approx(1.0)
        assert limiter._limiter_for(CHAT + 1).has_capacity()  # other chats are not held up

    asyncio.run(go())
    assert len(seen) == 4


# ----- set-webhook and polling ------------------------------------------------------------
def test_set_webhook_registers_the_secret_updates_and_commands_in_each_language(
    engine: Engine, tmp_path: Path, fake: FakeBotApi
) -> None:
    settings = telegram_engine(
        engine, tmp_path, fake, public_base_url="https://frontdoor.example.org/"
    ).settings
    said: list[str] = []
    assert asyncio.run(set_webhook(settings, engine.content, said.append)) == 0
    [hook] = fake.called("setWebhook")
    assert hook["url"] == "https://frontdoor.example.org/telegram/webhook"
    assert hook["secret_token"] == SECRET
    assert hook["allowed_updates"] == [
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    ]
    menus = fake.called("setMyCommands")
    assert [m.get("language_code") for m in menus] == [None, *settings.locales]
    for menu in menus:
        locale = menu.get("language_code") or "en"
        assert [c["command"] for c in menu["commands"]] == [
            "start",
            "help",
            "menu",
            "exit",
            "language",
        ]
        assert [c["description"] for c in menu["commands"]] == [
            engine.content.text(f"channels.command_{c}", locale)
            for c in ("start", "help", "menu", "exit", "language")
        ]
    polish = {
        c["command"]: c["description"] for c in menus[settings.locales.index("pl") + 1]["commands"]
    }
    assert polish["exit"] != menus[1]["commands"][3]["description"]
    assert all(TOKEN not in line and SECRET not in line for line in said)


def test_the_command_line_sets_the_webhook(
    engine: Engine,
    tmp_path: Path,
    fake: FakeBotApi,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = telegram_engine(
        engine, tmp_path, fake, public_base_url="https://frontdoor.example.org"
    ).settings
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    assert cli.main(["telegram", "set-webhook"]) == 0
    out = capsys.readouterr().out
    assert "https://frontdoor.example.org/telegram/webhook" in out
    assert TOKEN not in out and SECRET not in out
    assert len(fake.called("setWebhook")) == 1
    assert len(fake.called("setMyCommands")) == 1 + len(settings.locales)


def test_set_webhook_refuses_without_a_secret(
    engine: Engine, tmp_path: Path, fake: FakeBotApi
) -> None:
    settings = telegram_engine(
        engine, tmp_path, fake, telegram_webhook_secret="", public_base_url="https://x.example"
    ).settings
    said: list[str] = []
    assert asyncio.run(set_webhook(settings, engine.content, said.append)) == 2
    assert fake.calls == [] and "TELEGRAM_WEBHOOK_SECRET" in said[0]


def test_poll_removes_the_webhook_and_handles_updates(tg_engine: Engine, fake: FakeBotApi) -> None:
    update = {"update_id": 500, "message": text_message(fake, CHAT, "hello")}
    fake.push_update(update)

    async def go() -> int:
        stop = asyncio.Event()

        async def stop_when_answered() -> None:
            while len(fake.called("sendMessage")) < 2:
                await asyncio.sleep(0.02)
            stop.set()

        watcher = asyncio.create_task(stop_when_answered())
        result = await asyncio.wait_for(poll(tg_engine, stop, lambda _line: None), timeout=60)
        await watcher
        return result

    assert asyncio.run(go()) == 0
    methods = [c.method for c in fake.calls]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")
    keys = [r.key for r in stored_replies(tg_engine, 500)]
    assert keys == ["first_contact.greeting", "first_contact.safe_to_text"]
    assert len(fake.called("sendMessage")) == 2


# ----- the worker's sender ---------------------------------------------------------------
def queue(engine: Engine, address: str, key: str) -> None:
    with engine.db.session() as session:
        enqueue(
            session,
            engine.vault,
            channel="telegram",
            kind="staff_notice",
            address=address,
            text="An urgent callback request is waiting: FD-7KQ2",
            dedupe_key=key,
            now=datetime.now(UTC),
        )
        session.commit()


def outbox_row(engine: Engine, key: str) -> Outbox:
    with engine.db.session() as session:
        row = session.execute(select(Outbox).where(Outbox.dedupe_key == key)).scalar_one()
        session.commit()
    return row


def test_the_worker_sends_through_telegram_and_waits_out_a_429(
    tg_engine: Engine, fake: FakeBotApi
) -> None:
    sender = TelegramSender(tg_engine.settings)
    queue(tg_engine, "-100555", "staff:FD-7KQ2")
    fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 40", retry_after=40)
    now = datetime.now(UTC)
    counts = asyncio.run(send_due(tg_engine.db, tg_engine.vault, {"telegram": sender}, now))
    assert counts.deferred == 1 and counts.sent == 0
    row = outbox_row(tg_engine, "staff:FD-7KQ2")
    assert row.status == "pending" and row.last_error == "429"
    assert utc(row.next_attempt_at) >= now + timedelta(seconds=40)
    later = now + timedelta(minutes=5)
    counts = asyncio.run(send_due(tg_engine.db, tg_engine.vault, {"telegram": sender}, later))
    assert counts.sent == 1
    calls = fake.called("sendMessage")
    assert len(calls) == 2 and int(calls[1]["chat_id"]) == -100555
    assert calls[1]["text"] == "An urgent callback request is waiting: FD-7KQ2"
    assert outbox_row(tg_engine, "staff:FD-7KQ2").status == "sent"
    assert rows(tg_engine, OutboundMessage) == 1
    assert rows(tg_engine, TelegramMessage) == 0  # a staff group is not a person's chat


def test_the_worker_never_retries_a_refused_send_and_remembers_a_private_one(
    tg_engine: Engine, fake: FakeBotApi
) -> None:
    sender = TelegramSender(tg_engine.settings)
    queue(tg_engine, str(CHAT), "notice:blocked")
    fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    counts = asyncio.run(
        send_due(tg_engine.db, tg_engine.vault, {"telegram": sender}, datetime.now(UTC))
    )
    assert counts.refused == 1 and outbox_row(tg_engine, "notice:blocked").status == "refused"
    queue(tg_engine, str(CHAT), "notice:ok")
    counts = asyncio.run(
        send_due(tg_engine.db, tg_engine.vault, {"telegram": sender}, datetime.now(UTC))
    )
    assert counts.sent == 1
    assert rows(tg_engine, TelegramMessage) == 1  # on the person's phone: EXIT deletes it


def test_a_sender_that_cannot_connect_defers(
    engine: Engine, tmp_path: Path, fake: FakeBotApi
) -> None:
    nowhere = telegram_engine(engine, tmp_path, fake, telegram_api_base_url="http://127.0.0.1:1")
    with pytest.raises(SendDeferred) as deferred:
        asyncio.run(TelegramSender(nowhere.settings).send(str(CHAT), "hi"))
    assert deferred.value.code == "network"
