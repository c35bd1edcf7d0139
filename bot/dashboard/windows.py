"""When it is safe to call, from a request's safe windows, in Europe/London time.

A request keeps its windows as a list of {day, start, end} in local time (as
the bot's safe-times questions store them). "As soon as possible", or no
windows at all, means any time within the service's callback hours. The
queue needs two facts from this: is it safe now (and until when), and if
not, when it next is. The hours and windows themselves are read by
bot/windows.py, the same code the bot's questions use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

# The hours and windows are read in one place, shared with the bot's questions.
from bot.windows import DAYS, LONDON, Window, effective, inside, service_hours

__all__ = [
    "DAYS",
    "LONDON",
    "SafeState",
    "Window",
    "effective",
    "inside",
    "parse_local",
    "service_hours",
    "state",
]


@dataclass(frozen=True)
class SafeState:
    """Safe now until `until`, or next safe at `next_start` (None: never within a week)."""

    now: bool
    until: datetime | None = None
    next_start: datetime | None = None


def _spans(windows: list[Window], around: date) -> list[tuple[datetime, datetime]]:
    """Concrete local spans from the day before `around` to a week after it."""
    spans = []
    for offset in range(-1, 8):
        day = around + timedelta(days=offset)
        for w in windows:
            if w.day == day.weekday():
                start = datetime.combine(day, w.start, LONDON)
                end = datetime.combine(day, w.end, LONDON)
                spans.append((start, end))
    return sorted(spans)


def state(windows: list[Window], now: datetime) -> SafeState:
    local = now.astimezone(LONDON)
    upcoming = None
    for start, end in _spans(windows, local.date()):
        if start <= local < end:
            return SafeState(now=True, until=end)
        if start > local and upcoming is None:
            upcoming = start
    return SafeState(now=False, next_start=upcoming)


def parse_local(value: str) -> datetime | None:
    """A datetime-local form value ("2026-11-24T10:30") read as London time, in UTC."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return None
    return naive.replace(tzinfo=LONDON).astimezone(UTC)
