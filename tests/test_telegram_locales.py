"""Languages through the Telegram channel: one Latin-script, one Cyrillic and
one right-to-left language, chosen with LANG, a whole callback request with
buttons, their own EXIT and danger words, and every reply arriving as exactly
its HTML rendering (the driver checks that on each turn)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.telegram import client as telegram
from bot.channels.telegram.render import telegram_messages
from bot.content.model import RTL_LOCALES, Content
from bot.engine import Engine
from tests.conftest import clean, make_settings, own_danger_examples
from tests.fake_bot_api import FakeBotApi, FakeBotApiServer
from tests.telegram_driver import TelegramChat, telegram_engine, webhook_client
from tests.test_journeys import open_callback
from tests.test_locales import LOCALES, THROUGH_CHANNELS, choose


@pytest.fixture
def chat(
    sqlite_url: str,
    tmp_path: Path,
    content: Content,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TelegramChat]:
    monkeypatch.setattr(telegram, "PER_CHAT_RATE", 1000.0)  # tests type fast
    clean(sqlite_url)
    settings = make_settings(tmp_path, sqlite_url, shipped_locales=",".join(["en", *LOCALES]))
    base = Engine(settings=settings, content=content)
    with FakeBotApiServer() as fake:
        engine = telegram_engine(base, tmp_path, fake, shipped_locales=settings.shipped_locales)
        with webhook_client(engine) as client:
            yield TelegramChat(engine, client, fake, chat_id=777000)
    base.db.dispose()


@pytest.mark.parametrize("locale", THROUGH_CHANNELS)
def test_a_whole_callback_request_in_another_language(chat: TelegramChat, locale: str) -> None:
    choose(chat, locale)
    chat.pick("yes")
    chat.pick("me")
    open_callback(chat)
    assert chat.key == "callback.other_number"
    chat.send("07911 120123")
    chat.pick("asap")
    for _ in range(40):
        if chat.key == "callback.summary":
            break
        offered = chat.option_ids()
        pick = next((o for o in ("no", "more", "southend") if o in offered), None)
        if pick:
            chat.pick(pick)
        else:
            chat.send("SKIP")
    chat.pick("looks_right")
    assert chat.key == "callback.confirmed"
    reply = chat.last[-1]
    assert reply.locale == locale
    assert reply.direction == ("rtl" if locale in RTL_LOCALES else "ltr")
    # What Telegram received is the translation, intact (right-to-left too).
    fake: FakeBotApi = chat.fake
    sent = fake.called("sendMessage")[-1]["text"]
    assert sent == telegram_messages(reply)[0][0]
    english = chat.engine.content.text("callback.confirmed", "en", {"reference": "X"})
    assert chat.engine.content.text("callback.confirmed", locale, {"reference": "X"}) != english


@pytest.mark.parametrize("locale", THROUGH_CHANNELS)
def test_own_exit_and_danger_words_work_on_telegram(chat: TelegramChat, locale: str) -> None:
    content = chat.engine.content
    choose(chat, locale)
    own_danger = own_danger_examples(locale)
    assert chat.send(f"... {own_danger[0]} ...")[0].key == "words.danger"
    own_exit = content.words("words.exit", "word", locale)
    native = [w for w in own_exit if w not in content.words("words.exit", "word", "en")]
    assert chat.keys(native[0].upper()) == ["words.exit"]  # and the chat is wiped
    assert chat.fake.alive[chat.chat_id] == set()
