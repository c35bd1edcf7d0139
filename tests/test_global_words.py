"""Words that work from every state: danger first, EXIT, MENU, BACK, HELP, LANGUAGE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Chat
from tests.test_journeys import open_callback


def into_callback(chat: Chat) -> None:
    chat.start("me")
    open_callback(chat)
    chat.send("yes")
    chat.pick("choose")


@pytest.mark.parametrize("text", ["EXIT", " exit ", "Exit!", "exit.", "  EXIT!!  "])
def test_exit_in_any_case_with_stray_punctuation_ends_everything(chat: Chat, text: str) -> None:
    into_callback(chat)
    replies = chat.send(text)
    assert [r.key for r in replies] == ["words.exit"]
    assert replies[0].action == "quick_exit" and replies[0].options == ()
    assert "abuse" not in replies[0].sms.lower()
    # Unconfirmed answers are gone: the next message starts from the greeting.
    assert chat.keys("hi") == ["first_contact.greeting", "first_contact.safe_to_text"]


@pytest.mark.parametrize(
    "text",
    [
        "999",
        "I'm in danger",
        "he's here",
        "HELP ME NOW",
        "please help me now hes here",
        "he’s here",
        "Call the police!",
    ],
)
def test_danger_phrases_get_emergency_guidance_from_any_state(chat: Chat, text: str) -> None:
    into_callback(chat)
    where = chat.key
    replies = chat.send(text)
    assert replies[0].key == "words.danger"
    assert "999" in replies[0].sms and "55" in replies[0].sms
    assert "emergencySMS" in replies[0].sms and "BSL" in replies[0].sms
    # Nothing stands in front of it; after it, where we were, so the next
    # message is never silently taken as an answer to a question not in view.
    assert [r.key for r in replies[1:]] == ["signals.were_asking", "callback.days"]
    chat.send("mon")  # the conversation carries on where it was
    assert where == "callback.days" and chat.key == "callback.window"


def test_danger_before_the_first_greeting(chat: Chat) -> None:
    assert chat.keys("help me now") == ["words.danger"]


def test_menu_and_back_from_inside_a_request(chat: Chat) -> None:
    into_callback(chat)
    assert chat.key == "callback.days"
    chat.send("menu.")
    assert chat.key == "menus.me"
    chat.send("Back")
    assert chat.key == "callback.days"
    chat.send("mon")
    chat.send("BACK")
    assert chat.key == "callback.days"


def test_back_with_nowhere_to_go_says_so(chat: Chat) -> None:
    chat.send("hi")
    replies = chat.send("back")
    assert replies[0].key == "words.nothing_before"
    assert replies[-1].key == "first_contact.safe_to_text"


def test_help_explains_then_repeats_the_question(chat: Chat) -> None:
    into_callback(chat)
    replies = chat.send("help")
    assert [r.key for r in replies] == ["words.help", "callback.days"]
    assert "999" in replies[0].sms


def test_language_word_offers_languages_in_their_own_names(chat: Chat) -> None:
    chat.send("hi")
    chat.send("LANG")
    assert chat.key == "language.choose"
    labels = [o.label for o in chat.last[-1].options]
    assert labels[0] == "English"
    chat.pick("en")
    assert chat.key == "first_contact.safe_to_text"


def test_inactivity_restarts_without_echoing_answers(chat: Chat) -> None:
    chat.now = datetime.now(UTC)
    into_callback(chat)
    chat.send("Mon")
    chat.now += timedelta(minutes=31)
    replies = chat.send("1")
    assert [r.key for r in replies] == ["words.timed_out", "first_contact.safe_to_text"]
    assert all("Mon" not in r.sms for r in replies)
    chat.pick("yes")
    assert chat.key == "who.ask"


def test_a_reply_just_inside_the_timeout_carries_on(chat: Chat) -> None:
    chat.now = datetime.now(UTC)
    into_callback(chat)
    chat.now += timedelta(minutes=29)
    chat.send("Mon")
    assert chat.key == "callback.window"


def test_a_command_the_channel_recognised_wins_over_the_text(chat: Chat) -> None:
    assert chat.keys("/start", command="start") == [
        "first_contact.greeting",
        "first_contact.safe_to_text",
    ]
    chat.pick("yes")
    assert chat.key == "who.ask"
    assert chat.keys("/start", command="start") == ["who.ask"]  # carry on where they were
    chat.pick("me")
    assert chat.keys("/language", command="language") == ["language.choose"]
    assert chat.keys("/menu", command="menu")[-1] == "menus.me"
    assert chat.keys("/exit", command="exit") == ["words.exit"]
