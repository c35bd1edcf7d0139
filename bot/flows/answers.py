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
POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE


def phone_number(dialogue: Dialogue, text: str) -> Parsed:
    """A number people can be called on, as E.164: any number `phonenumbers`
    thinks possible for the UK (or abroad, with its +code). One outside the
    ranges its metadata lists is kept too, and marked to be read back to the
    person ("Is 07911 654321 right?") rather than refused."""
    raw = clean_free_text(text, 40)
    try:
        number = phonenumbers.parse(raw, "GB")
    except phonenumbers.NumberParseException:
        return Parsed(error="callback.number_invalid")
    # IS_POSSIBLE only: a number diallable from anywhere, not a local fragment.
    if phonenumbers.is_possible_number_with_reason(number) != POSSIBLE:
        return Parsed(error="callback.number_invalid")
    dialogue.notes.phone_unsure = not phonenumbers.is_valid_number(number)
    return Parsed(value=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def shown_number(e164: str) -> str:
    """A number as people write it ("07911 654321"; international with its +code)."""
    try:
        number = phonenumbers.parse(e164, "GB")
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 44:
        national = phonenumbers.national_significant_number(number)
        if len(national) == 10 and national.startswith("7"):
            return f"0{national[:4]} {national[4:]}"
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


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


_TIME_WORDS = {"after", "from", "before", "until", "till", "by", "to", "at", "on", "and", "or"}
_EDGES = {"after", "from", "before", "until", "till", "by"}
_FILLER = {"only", "any", "time", "pm", "am", "oclock", "o", "clock", "please", "pls", "the"}


def _hour(token: str) -> int | None:
    """ "2", "2pm", "14", "9am", "14:30" -> an hour of the day (1-7 read as afternoon)."""
    digits = token.removesuffix("pm").removesuffix("am").split(":")[0]
    if not digits.isdigit() or not 0 < int(digits) <= 23:
        return None
    hour = int(digits)
    if token.endswith("pm") or (hour <= 7 and not token.endswith("am")):
        hour = hour + 12 if hour < 12 else hour
    return hour


def days_and_time(
    open_days: list[int], parts: dict[str, tuple[str, str]]
) -> Callable[[Dialogue, str], tuple[list[int], tuple[str, str] | None] | None]:
    """Typed days with an optional time, e.g. "fri", "tuesday after 2",
    "mon wed morning": (days, (start, end) or None), or None unless every word
    is understood (so "as soon as possible" is never read as days)."""

    def read(dialogue: Dialogue, text: str) -> tuple[list[int], tuple[str, str] | None] | None:
        tokens = normalise(text).replace(",", " ").split()
        lookup = _day_words(dialogue.locale)
        found: list[int] = []
        span: tuple[str, str] | None = None
        edge = ""
        for token in tokens:
            if token in lookup or (len(token) >= 4 and _close_day(token, lookup) is not None):
                day = lookup.get(token, _close_day(token, lookup))
                if day is not None and day not in found:
                    found.append(day)
            elif token in parts:
                span = parts[token]
            elif token.rstrip("s") in parts:
                span = parts[token.rstrip("s")]
            elif token in _TIME_WORDS or token in _FILLER:
                edge = token if token in _EDGES else edge
            elif (hour := _hour(token)) is not None:
                clock = f"{hour:02d}:00"
                span = (clock, "23:59") if edge in ("after", "from", "") else ("00:00", clock)
            else:
                return None
        if not found:
            return None
        chosen = sorted(d for d in found if d in open_days)
        return (chosen, span) if chosen else None

    return read


def _close_day(token: str, lookup: dict[str, int]) -> int | None:
    match = process.extractOne(token, list(lookup), scorer=fuzz.ratio, score_cutoff=85)
    return lookup[match[0]] if match else None
