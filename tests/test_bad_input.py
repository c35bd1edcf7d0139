"""Bad input gets a clear, calm answer and changes nothing it shouldn't."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Chat
from tests.test_global_words import into_callback

CALM = {
    "words.not_understood",
    "words.empty",
    "words.out_of_range",
    "words.too_long",
    "words.old_question",
    "words.skip_not_allowed",
}


@pytest.mark.parametrize(
    "text",
    ["", "   ", "🙂🙂🙂", "\x00\x07\x1b[31m", "x" * 5000, "ąę مرحبا Привет", "42", "0", "-1"],
)
def test_odd_replies_to_a_choice_are_answered_calmly(chat: Chat, text: str) -> None:
    chat.start("me")
    replies = chat.send(text)
    assert replies and replies[0].key in CALM
    assert chat.key in {"menus.me", *CALM}
    assert replies[-1].options  # the options come again, one tap away
    chat.send("menu")
    assert chat.key == "menus.me"


def test_a_number_out_of_range_says_which_numbers_work(chat: Chat) -> None:
    chat.send("hi")
    replies = chat.send("7")
    assert replies[0].key == "words.out_of_range" and "1 to 3" in replies[0].sms


def test_an_old_button_is_not_taken_as_an_answer(chat: Chat) -> None:
    chat.start("me")
    replies = chat.send(choice="danger")  # a button from the first question
    assert [r.key for r in replies] == ["words.old_question", "menus.me"]


def test_free_text_too_long_is_refused_kindly(chat: Chat) -> None:
    into_callback(chat)
    chat.send("any")
    chat.pick("any")
    chat.pick("skip_all")  # the triage questions
    chat.pick("more")
    for _ in range(4):
        chat.send("skip")
    assert chat.key == "callback.code_word"
    replies = chat.send("x" * 5000)
    assert replies[0].key == "words.too_long" and "40" in replies[0].sms
    assert chat.key == "callback.code_word"


def test_control_characters_never_reach_stored_answers(chat: Chat) -> None:
    into_callback(chat)
    chat.send("any")
    chat.pick("any")
    chat.pick("skip_all")  # the triage questions
    chat.pick("more")
    for _ in range(4):
        chat.send("skip")
    chat.send("blue\x00\x1b bell")
    assert chat.key == "callback.quiet_word"


ids = itertools.count()


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.one_of(
            st.text(max_size=300),
            st.sampled_from(
                [
                    "1",
                    "2",
                    "3",
                    "4",
                    "5",
                    "9",
                    "skip",
                    "back",
                    "menu",
                    "yes",
                    "no",
                    "help",
                    "lang",
                    "Colchester",
                    "mon",
                    "07911 123456",
                ]
            ),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_random_text_in_every_state_never_breaks_the_conversation(sqlite_engine, steps) -> None:  # noqa: ANN001
    chat = Chat(sqlite_engine, address=f"+4479111{next(ids):05d}")
    for text in steps:
        replies = chat.send(text)
        assert replies, "never silence"
        assert all(r.key != "words.error" for r in replies), "never an internal error"
        assert all(r.sms.strip() for r in replies)
