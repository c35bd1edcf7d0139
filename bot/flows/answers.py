"""Parsers for typed answers: phone numbers, days, places and short free text.

Each returns `Parsed(value=...)` or `Parsed(error=<content key>)` so the
person gets a calm explanation from content and the question again.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import phonenumbers
from babel.dates import get_day_names
from rapidfuzz import fuzz, process

from bot.flows.base import Parsed
from bot.text import clean_free_text, normalise

if TYPE_CHECKING:
    from bot.dialogue import Dialogue

DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def phone_number(dialogue: Dialogue, text: str) -> Parsed:
    """A UK or international number people can be called on, as E.164."""
    raw = clean_free_text(text, 40)
    try:
        number = phonenumbers.parse(raw, "GB")
    except phonenumbers.NumberParseException:
        return Parsed(error="callback.number_invalid")
    if not phonenumbers.is_valid_number(number):
        return Parsed(error="callback.number_invalid")
    return Parsed(value=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def free_text(limit: int) -> Callable[[Dialogue, str], Parsed]:
    def parse(dialogue: Dialogue, text: str) -> Parsed:
        cleaned = clean_free_text(text, limit + 1)
        if not cleaned:
            return Parsed(error="words.empty")
        if len(cleaned) > limit:
            return Parsed(error="words.too_long", error_params={"limit": limit})
        return Parsed(value=cleaned)

    return parse


@lru_cache(maxsize=32)
def _day_words(locale: str) -> dict[str, int]:
    words: dict[str, int] = {}
    for loc in {"en", locale}:
        for width in ("wide", "abbreviated", "short"):
            try:
                names = get_day_names(width, locale=loc)
            except Exception:  # noqa: BLE001 - an unknown locale simply adds no names
                continue
            for index, name in names.items():
                words[normalise(name)] = index
                # "segunda-feira" is usually typed "segunda": its first word names it too.
                first, _, rest = normalise(name).partition(" ")
                if rest:
                    words.setdefault(first, index)
    for index, code in enumerate(DAY_CODES):
        words[code] = index
    words.update({"tues": 1, "weds": 2, "thur": 3, "thurs": 3})
    return words


def days(open_days: list[int], any_words: Callable[[Dialogue], list[str]]) -> Callable[..., Parsed]:
    """Day names in the person's language or English, e.g. "Mon Wed" or "tuesday"."""

    def parse(dialogue: Dialogue, text: str) -> Parsed:
        said = normalise(text)
        if not said:
            return Parsed(error="words.empty")
        if said in {normalise(w) for w in any_words(dialogue)}:
            return Parsed(value=list(open_days))
        lookup = _day_words(dialogue.locale)
        found: list[int] = []
        for token in said.split():
            index = lookup.get(token)
            if index is None:
                match = process.extractOne(token, list(lookup), scorer=fuzz.ratio, score_cutoff=80)
                index = lookup[match[0]] if match else None
            if index is not None and index not in found:
                found.append(index)
        if not found:
            return Parsed(error="callback.days_invalid")
        chosen = sorted(d for d in found if d in open_days)
        if not chosen:
            return Parsed(error="callback.days_closed")
        return Parsed(value=chosen)

    return parse


def place(areas: dict[str, dict]) -> Callable[[Dialogue, str], Parsed]:
    """A town or district of Essex, matched loosely, to its area id."""
    names: dict[str, str] = {}
    for area_id, area in areas.items():
        for town in [area.get("name", ""), *str(area.get("towns", "")).split(",")]:
            if town.strip():
                names[normalise(town)] = area_id

    def parse(dialogue: Dialogue, text: str) -> Parsed:
        said = normalise(text)
        if not said:
            return Parsed(error="words.empty")
        if said in names:
            return Parsed(value=names[said])
        match = process.extractOne(said, list(names), scorer=fuzz.WRatio, score_cutoff=86)
        if match is None:
            return Parsed(error="callback.place_unknown")
        return Parsed(value=names[match[0]])

    return parse
