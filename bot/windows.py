"""Safe windows and the service's callback hours, read one way for everyone.

The callback hours (content/data/service.yaml, `callback_hours` and the
`time_windows` a person may pick) and a request's safe windows (a list of
{day, start, end}) are in Europe/London local time. The bot's safe-times
questions (bot/flows/safe_times.py) and the call-handlers' queue
(bot/dashboard/windows.py) both read them here, so a change to the format is
made once and the two can never disagree about when it is safe to call. The
worker's outbox and the mailbox ask the same question (is this moment inside
the person's safe windows?) here too. This module imports nothing from the
project: flows, the dashboard, channels and the worker may all use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # Monday is 0, as in `weekday()`

Span = tuple[str, str]  # ("09:00", "17:00"): zero-padded, so they compare as text


@dataclass(frozen=True)
class Window:
    day: int  # Monday is 0
    start: time
    end: time


def clock(value: str) -> time:
    """ "09:30" as a time of day."""
    hour, minute = (int(part) for part in value.split(":"))
    return time(hour, minute)


def callback_hours(service: Mapping[str, Any]) -> dict[int, Span]:
    """The days call-handlers call on and their hours: weekday -> (start, end).
    Keys that are not days (such as `confirmed`) are not hours."""
    hours = service.get("callback_hours", {}) or {}
    return {DAYS.index(day): (span[0], span[1]) for day, span in hours.items() if day in DAYS}


def time_windows(service: Mapping[str, Any]) -> dict[str, Span]:
    """The named parts of the day a person may pick ("morning": ("09:00", "12:00"))."""
    return {name: (span[0], span[1]) for name, span in (service.get("time_windows") or {}).items()}


def service_hours(service: Mapping[str, Any]) -> list[Window]:
    """The callback hours as windows: the safe times of "as soon as possible"."""
    return [
        Window(day, clock(start), clock(end))
        for day, (start, end) in callback_hours(service).items()
    ]


def stored_windows(windows: list[dict[str, str]]) -> list[Window]:
    """A request's stored safe windows ({day, start, end}) as windows; an entry
    without a known day is left out."""
    return [
        Window(DAYS.index(w["day"]), clock(w["start"]), clock(w["end"]))
        for w in windows
        if w.get("day") in DAYS
    ]


def effective(windows: list[dict[str, str]], asap: bool, hours: list[Window]) -> list[Window]:
    """The windows a handler must keep to: the person's own, or the service hours."""
    if asap or not windows:
        return list(hours)
    return stored_windows(windows)


def inside(windows: list[Window], when: datetime) -> bool:
    """Whether a moment (aware) falls inside one of the windows."""
    local = when.astimezone(LONDON)
    return any(
        w.day == local.weekday() and w.start <= local.time().replace(tzinfo=None) < w.end
        for w in windows
    )
