"""When it is safe to call, from a request's safe windows, in Europe/London time.

A request keeps its windows as a list of {day, start, end} in local time (as
the bot's safe-times questions store them). "As soon as possible", or no
windows at all, means any time within the service's callback hours. The
queue needs two facts from this: is it safe now (and until when), and if
not, when it next is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Window:
    day: int  # Monday is 0
    start: time
    end: time


@dataclass(frozen=True)
class SafeState:
    """Safe now until `until`, or next safe at `next_start` (None: never within a week)."""

    now: bool
    until: datetime | None = None
    next_start: datetime | None = None


def _clock(value: str) -> time:
    hour, minute = (int(part) for part in value.split(":"))
    return time(hour, minute)


def service_hours(service: dict[str, Any]) -> list[Window]:
    """The callback hours from content/data/service.yaml, as windows."""
    hours = service.get("callback_hours", {}) or {}
    return [
        Window(DAYS.index(day), _clock(span[0]), _clock(span[1]))
        for day, span in hours.items()
        if day in DAYS
    ]


def effective(windows: list[dict[str, str]], asap: bool, hours: list[Window]) -> list[Window]:
    """The windows a handler must keep to: the person's own, or the service hours."""
    if asap or not windows:
        return list(hours)
    out = []
    for w in windows:
        if w.get("day") in DAYS:
            out.append(Window(DAYS.index(w["day"]), _clock(w["start"]), _clock(w["end"])))
    return out


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


def inside(windows: list[Window], when: datetime) -> bool:
    """Whether a moment (aware) falls inside one of the windows."""
    local = when.astimezone(LONDON)
    return any(
        w.day == local.weekday() and w.start <= local.time().replace(tzinfo=None) < w.end
        for w in windows
    )


def parse_local(value: str) -> datetime | None:
    """A datetime-local form value ("2026-11-24T10:30") read as London time, in UTC."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return None
    return naive.replace(tzinfo=LONDON).astimezone(UTC)
