"""The terminal chat: piped input, both styles, a clean exit at end of input."""

from __future__ import annotations

import io

import pytest

from bot.channels.terminal.chat import run_chat
from bot.engine import Engine


def chat(engine: Engine, style: str, typed: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run_chat(style=style, stdin=io.StringIO(typed), stdout=out, engine=engine)
    return code, out.getvalue()


def texts(engine: Engine, key: str) -> str:
    return engine.content.reply(key, "en", options=[]).sms


@pytest.mark.parametrize("style", ["sms", "telegram"])
def test_hello_then_one_reaches_the_who_question(sqlite_engine: Engine, style: str) -> None:
    code, output = chat(sqlite_engine, style, "hello\n1\n")
    assert code == 0
    assert "EXIT" in output.splitlines()[0]  # the banner says how to leave
    assert texts(sqlite_engine, "first_contact.safe_to_text") in output
    assert texts(sqlite_engine, "who.ask") in output


def test_sms_style_numbers_the_options(sqlite_engine: Engine) -> None:
    _, output = chat(sqlite_engine, "sms", "hello\n")
    assert "\n1 " in output
    assert "[1 " not in output


def test_telegram_style_shows_buttons_without_markup(sqlite_engine: Engine) -> None:
    _, output = chat(sqlite_engine, "telegram", "hello\n1\n")
    assert "[1 " in output and "] [2 " in output
    assert "**" not in output and "<b>" not in output
    assert "\033[" not in output  # no ANSI codes when the output is not a terminal


def test_empty_lines_are_sent_and_answered(sqlite_engine: Engine) -> None:
    code, output = chat(sqlite_engine, "sms", "hello\n\n")
    assert code == 0
    assert output.count(texts(sqlite_engine, "first_contact.safe_to_text")) >= 1
    assert len(output.strip().split("\n\n")) >= 4  # banner, greeting, question, answer


def test_end_of_input_straight_away_exits_cleanly(sqlite_engine: Engine) -> None:
    assert chat(sqlite_engine, "telegram", "")[0] == 0
