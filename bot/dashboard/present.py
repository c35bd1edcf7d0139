"""Formatting for the dashboard's templates: dates with Babel (en_GB, Europe/London),
language names, area names. Words about the service itself live in the templates."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_time, format_timedelta

from bot.dashboard import windows as win
from bot.text import babel_locale

STAFF_LOCALE = babel_locale("en")


def clock(moment: datetime | None) -> str:
    """ "16:00" in London time."""
    if moment is None:
        return ""
    return format_time(moment, "HH:mm", tzinfo=win.LONDON, locale=STAFF_LOCALE)


def day_clock(moment: datetime | None) -> str:
    """ "Tue 09:00" in London time."""
    if moment is None:
        return ""
    return format_datetime(moment, "EEE HH:mm", tzinfo=win.LONDON, locale=STAFF_LOCALE)


def full(moment: datetime | None) -> str:
    """ "24 Nov 2026, 09:00" in London time, for histories."""
    if moment is None:
        return ""
    return format_datetime(moment, "d MMM yyyy, HH:mm", tzinfo=win.LONDON, locale=STAFF_LOCALE)


def waited(minutes: int) -> str:
    return format_timedelta(
        timedelta(minutes=minutes), threshold=1.5, format="short", locale=STAFF_LOCALE
    )


def language_name(code: str) -> str:
    """English name of a language code ("pl" -> "Polish"); codes Babel lacks stay as they are."""
    try:
        return Locale.parse(code).get_display_name(STAFF_LOCALE) or code
    except (UnknownLocaleError, ValueError):
        return code


def window_lines(windows: list[win.Window]) -> list[str]:
    days = [format_datetime(datetime(2024, 1, 1 + d), "EEE", locale=STAFF_LOCALE) for d in range(7)]
    return [
        f"{days[w.day]} {w.start.strftime('%H:%M')}\u2013{w.end.strftime('%H:%M')}"
        for w in sorted(windows, key=lambda w: (w.day, w.start))
    ]


def area_names(content_data: dict[str, Any]) -> dict[str, str]:
    areas = content_data.get("areas", {}).get("areas", {}) or {}
    return {key: str(area.get("name", key)) for key, area in areas.items()}


def fingerprint(*parts: object) -> str:
    """A short digest of what a page shows, so polling swaps only when it changes."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]
