"""When it is safe to call: the questions, shared by the callback and my-request flows.

The service's callback hours and the windows people may pick come from
content/data/service.yaml, read by bot/windows.py (the same reading the
call-handlers' queue uses); every window is kept inside the hours. Answers
are stored as a list of {day, start, end} in Europe/London local time, which
the queue reads directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from babel.dates import format_time, get_day_names

from bot.flows.answers import DAY_CODES, days, days_and_time
from bot.flows.base import Ask, Choice, Step
from bot.text import babel_locale
from bot.windows import LONDON, callback_hours, clock, time_windows

if TYPE_CHECKING:
    from bot.content.model import Content
    from bot.dialogue import Dialogue


@dataclass
class TypedChoice(Choice):
    """A choice that also understands a typed answer (the engine asks `typed`
    first; it keeps what it understood and returns the option to fire, or None
    to match the options' words as usual)."""

    typed: Callable[[Dialogue, str], str | None] | None = None


class Hours:
    """The callback hours (weekday -> ("09:00", "17:00")) and the named windows a
    person may pick, as bot/windows.py reads them."""

    def __init__(self, service: dict[str, Any]) -> None:
        self.open: dict[int, tuple[str, str]] = callback_hours(service)
        self.windows: dict[str, tuple[str, str]] = time_windows(service)

    def is_open(self, now: datetime) -> bool:
        """Are call-handlers making calls at `now` (aware, any zone)?"""
        local = now.astimezone(LONDON)
        span = self.open.get(local.weekday())
        return span is not None and span[0] <= local.strftime("%H:%M") < span[1]

    @property
    def open_days(self) -> list[int]:
        return sorted(self.open)

    def windows_for(self, chosen_days: list[int], window: str) -> list[dict[str, str]]:
        """Concrete windows for the chosen days, clipped to each day's hours."""
        out = []
        for day in chosen_days:
            if day not in self.open:
                continue
            start, end = self.open[day]
            if window in self.windows:
                start, end = max(start, self.windows[window][0]), min(end, self.windows[window][1])
            if start < end:
                out.append({"day": DAY_CODES[day], "start": start, "end": end})
        return out


@lru_cache(maxsize=512)
def day_names(locale: str) -> dict[int, str]:
    """Short weekday names in the person's language (0 is Monday)."""
    return dict(get_day_names("abbreviated", locale=babel_locale(locale)))


@lru_cache(maxsize=512)
def time_text(value: str, locale: str) -> str:
    """A time of day ("14:00") as the person's language writes it."""
    return format_time(clock(value), format="short", locale=babel_locale(locale))


def describe(content: Content, windows: list[dict[str, str]], asap: bool, locale: str) -> str:
    """Safe times in the person's language, e.g. "Mon, Wed: 09:00 to 12:00"."""
    if asap or not windows:
        return content.text("callback.times_asap", locale)
    names = day_names(locale)
    groups: dict[tuple[str, str], list[str]] = {}
    for w in windows:
        groups.setdefault((w["start"], w["end"]), []).append(names[DAY_CODES.index(w["day"])])
    parts = [
        content.text(
            "callback.times_span",
            locale,
            {
                "days": ", ".join(day_names),
                "start": time_text(start, locale),
                "end": time_text(end, locale),
            },
        )
        for (start, end), day_names in groups.items()
    ]
    return "; ".join(parts)


def opening_hours(content: Content, hours: Hours, locale: str) -> str:
    windows = [
        {"day": DAY_CODES[d], "start": span[0], "end": span[1]} for d, span in hours.open.items()
    ]
    return describe(content, windows, False, locale)


def time_steps(
    content: Content, hours: Hours, then: str, section: str = "", when_key: str = "callback.when"
) -> list[Step]:
    """when -> (days -> window) -> then. Saves `asap` and `windows` in the flow's answers.
    `when_key` is the first question's entry (the live chat asks it in its own words)."""

    def choose_asap(d: Dialogue, option: str) -> None:
        d.answers["asap"] = option == "asap"
        if option == "asap":
            d.answers["windows"] = []

    def any_day_words(d: Dialogue) -> list[str]:
        return content.words("callback.days", "any", d.locale)

    def keep_days(d: Dialogue, option: str) -> None:
        chosen = d.notes.days if d.notes.days is not None else hours.open_days
        d.notes.days = None
        d.answers["windows"] = hours.windows_for(chosen, option)

    read = days_and_time(hours.open_days, hours.windows)

    def typed_when(d: Dialogue, text: str) -> str | None:
        """ "fri" asks which time; "tuesday after 2" is a whole answer."""
        got = read(d, text)
        if got is None:
            return None
        chosen, span = got
        d.answers["asap"] = False
        windows = []
        if span is not None:
            for day in chosen:
                start, end = hours.open[day]
                start, end = max(start, span[0]), min(end, span[1])
                if start < end:
                    windows.append({"day": DAY_CODES[day], "start": start, "end": end})
        if not windows:
            d.notes.days, d.notes.typed = chosen, "days"
            return "choose"
        d.answers["windows"], d.notes.typed = windows, "time"
        return "choose"

    def typed_as(kind: str):  # noqa: ANN202
        return lambda d: d.notes.typed == kind

    def forget_typed(d: Dialogue) -> None:
        d.notes.typed = None

    def keep_days_given(d: Dialogue, chosen: list[int] | None) -> None:
        d.notes.days = chosen

    window_ids = [*hours.windows, "any"]
    return [
        TypedChoice(
            "when",
            when_key,
            section=section,
            routes={
                "asap": then,
                "choose": [(typed_as("time"), then), (typed_as("days"), "window"), (None, "days")],
            },
            typed=typed_when,
            on_arrive=forget_typed,
            on_pick=choose_asap,
            params=lambda d: {"hours": opening_hours(content, hours, d.locale)},
        ),
        Ask(
            "days",
            "callback.days",
            keep=keep_days_given,
            section=section,
            parse=days(hours.open_days, any_day_words),
            then="window",
            skip_to="window",
        ),
        Choice(
            "window",
            "callback.window",
            section=section,
            routes={w: then for w in window_ids},
            on_pick=keep_days,
            labels=lambda d: {
                w: content.text(
                    "callback.window_label",
                    d.locale,
                    {
                        "name": content.label("callback.window", w, d.locale),
                        "start": time_text(span[0], d.locale),
                        "end": time_text(span[1], d.locale),
                    },
                )
                for w, span in hours.windows.items()
            },
        ),
    ]
