"""Choosing a language: offered by the LANGUAGE word from any state.

Options are the shipped locales, each named in its own language (from
Babel's CLDR data). After choosing, the person is back where they were.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale

from bot.dialogue import Dialogue
from bot.flows.base import Choice, Flow


@lru_cache(maxsize=64)
def own_name(locale: str) -> str:
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:]


def _choose(d: Dialogue, option: str) -> None:
    d.locale = option


def build(locales: list[str]) -> Flow:
    return Flow(
        "language",
        [
            Choice(
                "choose",
                "language.choose",
                routes={loc: "@back" for loc in locales},
                labels=lambda d: {loc: own_name(loc) for loc in locales},
                on_pick=_choose,
            )
        ],
    )
