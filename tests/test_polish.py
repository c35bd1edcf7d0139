"""The Polish catalog end to end: chosen with LANG, Polish words understood, English
words still working, and SMS sent as GSM-7."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from bot.channels.render import sms_text
from bot.storage.models import CallbackRequest
from bot.text import is_gsm7
from tests.conftest import Chat
from tests.test_journeys import open_callback


def test_choose_polish_and_ask_for_a_call_in_polish(chat: Chat) -> None:
    chat.send("hi")
    chat.send("LANG")
    chat.pick("pl")
    assert chat.key == "first_contact.safe_to_text" and chat.last[-1].locale == "pl"
    assert "bezpiecz" in chat.last[-1].rich  # Polish, with its own letters on Telegram
    chat.send("tak")
    assert chat.key == "who.ask"
    chat.pick("me")
    open_callback(chat)
    chat.send("tak")  # this number is safe
    chat.pick("asap")
    for _ in range(5):
        chat.send("nie")  # the triage questions
    chat.pick("more")
    for _ in range(10):  # voicemail to access needs
        chat.send("pomin")  # SKIP in Polish, typed without its accent
    chat.pick("southend")
    chat.send("skip")  # English words always work
    assert chat.key == "callback.summary"
    chat.pick("looks_right")
    assert chat.key == "callback.confirmed"
    with Session(chat.engine.db.engine) as session:
        [request] = session.execute(select(CallbackRequest)).scalars().all()
    assert request.reference in chat.last[-1].sms
    assert all(is_gsm7(sms_text(r)) for r in chat.last)


def test_polish_danger_phrase_and_exit_word(chat: Chat) -> None:
    chat.send("hi")
    chat.send("LANG")
    chat.pick("pl")
    replies = chat.send("Ratunku, on tu jest")
    assert replies[0].key == "words.danger" and "999" in replies[0].sms and "55" in replies[0].sms
    assert replies[0].locale == "pl"
    assert chat.keys("wyjdź") == ["words.exit"]


def test_data_phrases_inside_a_text_are_translated_too(chat: Chat) -> None:
    content = chat.engine.content
    english = content.reply("local.refuge", "en").sms
    polish = content.reply("local.refuge", "pl").sms
    assert "through Compass on 0330 333 7444" in english
    assert "przez Compass pod numerem 0330 333 7444" in polish and "through" not in polish
    contexts = {context for context, *_ in content.messages()}
    assert "services.refuge.phone:data" in contexts and "helplines.ndah.phone:data" not in contexts
