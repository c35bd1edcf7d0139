"""Safe days are understood in the person's language, as people type them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bot.flows.answers import days

WEEKDAYS = [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("locale", "typed", "expected"),
    [
        ("pt", "segunda e sexta", [0, 4]),  # CLDR says "segunda-feira"; people say "segunda"
        ("pt", "terça-feira", [1]),
        ("pl", "poniedzialek, sroda", [0, 2]),
        ("en", "Monday and wed", [0, 2]),
        ("ro", "luni și joi", [0, 3]),
    ],
)
def test_day_names_as_typed(locale: str, typed: str, expected: list[int]) -> None:
    parse = days(WEEKDAYS, lambda _d: ["any"])
    assert parse(SimpleNamespace(locale=locale), typed).value == expected


def test_a_closed_day_is_explained() -> None:
    parse = days(WEEKDAYS, lambda _d: ["any"])
    assert parse(SimpleNamespace(locale="pt"), "domingo").error == "callback.days_closed"
