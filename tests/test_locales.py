"""Every translated language end to end: chosen with LANG, a whole callback
request in that language, its own words for EXIT and danger understood, the
English words still working, and every SMS within its encoding's budget.

Each language runs against the engine; one Latin-script, one Cyrillic and one
right-to-left language also run through each real channel.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.render import sms_text
from bot.content.catalogs import load_catalogs
from bot.content.model import RTL_LOCALES, Content
from bot.engine import Engine
from bot.settings import PROJECT_ROOT
from bot.text import is_gsm7, sms_segments
from tests.conftest import Chat, make_settings, own_danger_examples
from tests.sms_support import SmsChat, sms_engine
from tests.test_journeys import open_callback

LOCALES = sorted(load_catalogs(PROJECT_ROOT / "locales"))
BUDGET = {"GSM-7": 2, "UCS-2": 3}
THROUGH_CHANNELS = ("ro", "uk", "ur")  # Latin, Cyrillic, right-to-left
LATIN = {"pl", "ro", "lt", "pt", "tr"}


@pytest.fixture
def polyglot(sqlite_url: str, tmp_path: Path, content: Content) -> Iterator[Engine]:
    """An engine offering every language that has a catalog."""
    from tests.conftest import clean

    clean(sqlite_url)
    settings = make_settings(tmp_path, sqlite_url, shipped_locales=",".join(["en", *LOCALES]))
    built = Engine(settings=settings, content=content)
    yield built
    built.db.dispose()


def choose(chat: Chat, locale: str) -> None:
    chat.send("hello")
    chat.send("LANG")
    assert chat.key == "language.choose"
    chat.pick(locale)
    assert chat.key == "first_contact.safe_to_text" and chat.last[-1].locale == locale


def within_budget(chat: Chat) -> None:
    for reply in chat.last:
        encoding, segments = sms_segments(sms_text(reply))
        long_read = (
            chat.engine.content.entry(reply.key).long_read
            if reply.key in (chat.engine.content.entries)
            else False
        )
        assert segments <= BUDGET[encoding] * (2 if long_read else 1), (reply.key, segments)


def person(engine: Engine, driver: str, number: str) -> Chat:
    if driver == "sms":
        return SmsChat(sms_engine(engine), address=number)
    return Chat(engine, address=number)


CASES = [("engine", loc) for loc in LOCALES] + [("sms", loc) for loc in THROUGH_CHANNELS]


@pytest.mark.parametrize(("driver", "locale"), CASES)
def test_a_whole_callback_request_in_each_language(
    polyglot: Engine, driver: str, locale: str
) -> None:
    chat = person(polyglot, driver, f"+4477009002{LOCALES.index(locale):02d}")
    choose(chat, locale)
    chat.pick("yes")
    chat.pick("me")
    open_callback(chat)  # consent given
    chat.pick("yes")  # this number is safe
    chat.pick("asap")
    for _ in range(40):
        within_budget(chat)
        if chat.key == "callback.summary":
            break
        offered = chat.option_ids()
        pick = next((o for o in ("no", "more", "southend") if o in offered), None)
        if pick:
            chat.pick(pick)
        else:
            chat.send("SKIP")  # the English word works in every language
    assert chat.key == "callback.summary"
    chat.pick("looks_right")
    assert chat.key == "callback.confirmed"
    reply = chat.last[-1]
    assert reply.locale == locale
    assert reply.direction == ("rtl" if locale in RTL_LOCALES else "ltr")
    english = polyglot.content.text("callback.confirmed", "en", {"reference": "X"})
    assert polyglot.content.text("callback.confirmed", locale, {"reference": "X"}) != english
    if driver == "sms":
        assert all(is_gsm7(m.body) == (locale in LATIN) for m in chat.messages)


@pytest.mark.parametrize(("driver", "locale"), CASES)
def test_own_exit_and_danger_words_and_english_ones_work(
    polyglot: Engine, driver: str, locale: str
) -> None:
    content = polyglot.content
    chat = person(polyglot, driver, f"+4477009003{LOCALES.index(locale):02d}")
    choose(chat, locale)
    own_danger = own_danger_examples(locale)
    assert own_danger, f"{locale} has no danger phrases of its own"
    replies = chat.send(f"... {own_danger[0]} ...")
    assert replies[0].key == "words.danger" and replies[0].locale == locale
    assert "999" in replies[0].sms and "55" in replies[0].sms
    assert chat.send("he's here")[0].key == "words.danger"
    own_exit = content.words("words.exit", "word", locale)
    native = [w for w in own_exit if w not in content.words("words.exit", "word", "en")]
    assert native, f"{locale} has no EXIT word of its own"
    assert chat.keys(native[0].upper()) == ["words.exit"]
    choose(chat, locale)
    assert chat.keys("EXIT") == ["words.exit"]
