"""Safe windows: one reading of the callback hours for the bot's questions and the
call-handlers' queue (bot/windows.py), and the queue's "safe now / next safe"
in London time across the clock change (bot/dashboard/windows.py)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from bot.content.model import Content
from bot.dashboard import windows as win
from bot.flows.answers import DAY_CODES
from bot.flows.safe_times import Hours
from bot.windows import DAYS, Window, callback_hours, clock, stored_windows, time_windows
from tests.dashboard_support import TUESDAY_10

SERVICE = {
    "callback_hours": {
        "confirmed": False,  # a note about the hours, not a day
        "mon": ["09:00", "17:00"],
        "sat": ["10:00", "13:30"],
    },
    "time_windows": {"morning": ["09:00", "12:00"], "afternoon": ["12:00", "17:00"]},
}


def test_the_hours_are_read_once_for_the_bot_and_the_queue(content: Content) -> None:
    assert callback_hours(SERVICE) == {0: ("09:00", "17:00"), 5: ("10:00", "13:30")}
    assert time_windows(SERVICE) == {"morning": ("09:00", "12:00"), "afternoon": ("12:00", "17:00")}
    assert win.service_hours(SERVICE) == [
        Window(0, time(9, 0), time(17, 0)),
        Window(5, time(10, 0), time(13, 30)),
    ]
    assert DAY_CODES == DAYS, "the bot's day words and the stored day codes are the same"
    service = content.data["service"]
    asked, queued = Hours(service), win.service_hours(service)
    # The days and hours the bot offers are exactly those the queue calls in.
    assert {w.day: (w.start, w.end) for w in queued} == {
        day: (clock(start), clock(end)) for day, (start, end) in asked.open.items()
    }
    monday_noon = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    saturday_noon = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    for moment in (monday_noon, saturday_noon, TUESDAY_10):
        assert asked.is_open(moment) == win.inside(queued, moment), moment


def test_stored_windows_skip_what_is_not_a_day() -> None:
    stored = [
        {"day": "thu", "start": "09:00", "end": "12:30"},
        {"day": "someday", "start": "09:00", "end": "12:00"},
        {"start": "09:00", "end": "12:00"},
    ]
    assert stored_windows(stored) == [Window(3, time(9, 0), time(12, 30))]
    assert win.effective(stored, False, []) == stored_windows(stored)


def test_safe_windows_in_london_time_across_the_clock_change() -> None:
    windows = win.effective([{"day": "tue", "start": "09:00", "end": "12:00"}], False, [])
    summer = datetime(2026, 7, 7, 8, 30, tzinfo=UTC)  # Tuesday 09:30 BST
    state = win.state(windows, summer)
    assert state.now and state.until == datetime(2026, 7, 7, 11, 0, tzinfo=UTC)
    winter = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)  # Tuesday 08:30 GMT
    state = win.state(windows, winter)
    assert not state.now and state.next_start == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    after = win.state(windows, datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    assert after.next_start == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert win.inside(windows, datetime(2026, 7, 7, 10, 59, tzinfo=UTC))
    assert not win.inside(windows, datetime(2026, 7, 7, 11, 0, tzinfo=UTC))


def test_as_soon_as_possible_means_the_service_hours(content: Content) -> None:
    hours = win.service_hours(content.data["service"])
    windows = win.effective([], True, hours)
    assert win.state(windows, TUESDAY_10).now
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    state = win.state(windows, saturday)
    assert not state.now and state.next_start == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
