"""Figures for commissioners and managers: daily counts that hold no personal data.

Why: the retention purge deletes the rows figures would otherwise come from
(requests, conversations, attempts), and a figure must never lead back to a
person. So each event becomes counts in `figure_counts` (bot/storage/models.py)
inside the same transaction as the thing it counts: a London day, an event
name, a commissioning area, and one row per dimension value, never a
reference, a person key, a number, a name or a word anyone wrote. Event and
dimension names come from the fixed vocabulary below (an unknown one is a
programming error and raises); a value that is not a short lower-case code
becomes "other". Durations are counted into fixed buckets (`minutes=`), so
medians and 90th percentiles come from histograms, not from stored times.

`count(session, event, when, area=..., minutes=..., **dimensions)` is the one
function other code calls. It only adds to a buffer on the session; the
buffer is written just before that session commits, in one sorted order
(`ON CONFLICT DO UPDATE`, on SQLite and PostgreSQL alike), so two
transactions never take the shared daily rows in opposite orders, and a
rollback (a repeated message, a fault) takes its counts with it.

Events (dimensions in brackets):

- conversation_started (channel, language, hour, weekday): a conversation
  begins (a first message, or the first after EXIT or the inactivity timeout).
- route_chosen (route, channel): who the conversation is for.
- emergency_guidance (channel): the 999 guidance was shown.
- safety_reply (signal: crisis, child, harm_risk): the reply a signal needs.
- quick_exit (channel).
- callback_requested (urgency, district, channel, route, language), with the
  request's area.
- callback_result (result: reached, not_reached, cancelled; urgency).
- wait_first_attempt and wait_reached (urgency; `minutes=`): from request to
  the first attempt, and to reaching the person.
- urgent_same_day (met: yes, no): an urgent request's first attempt on the
  London day it was made.
- outcome (outcome: the onward referral or result of a closed request; urgency).
- equality (gender, age_band, ethnic_group, disability, sexual_orientation,
  harmed_by): the handler's optional monitoring after a call; each question
  may be skipped, so each table has a "not recorded" row.
- Nothing from a practice channel (the simulator, the terminal) is counted.
- Live chats: chat_waited (channel), chat_answered (channel) and
  chat_first_reply (channel; `minutes=` from the person's first message to a
  worker's first reply), e.g. ``count(session, "chat_answered", now,
  channel="web")`` and ``count(session, "chat_first_reply", now,
  minutes=3.5, channel="web")``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from bot.storage.db import table_of
from bot.storage.models import FigureCount, FigureMonthCount

LONDON = ZoneInfo("Europe/London")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Upper bounds in minutes; a duration past the last lands in "more".
BUCKETS = (15, 30, 60, 120, 240, 480, 1440, 2880, 10080)
BUCKET_VALUES = tuple(f"m{b}" for b in BUCKETS) + ("more",)
URGENCIES = ("urgent", "standard")

EVENTS: dict[str, tuple[str, ...]] = {
    "conversation_started": ("channel", "language", "hour", "weekday"),
    "route_chosen": ("route", "channel"),
    "emergency_guidance": ("channel",),
    "safety_reply": ("signal",),
    "quick_exit": ("channel",),
    "callback_requested": ("urgency", "district", "channel", "route", "language"),
    "callback_result": ("result", "urgency"),
    "wait_first_attempt": ("urgency",),
    "wait_reached": ("urgency",),
    "urgent_same_day": ("met",),
    "outcome": ("outcome", "urgency"),
    "equality": (
        "gender",
        "age_band",
        "ethnic_group",
        "disability",
        "sexual_orientation",
        "harmed_by",
    ),
    "chat_waited": ("channel",),
    "chat_answered": ("channel",),
    "chat_first_reply": ("channel",),
}
AUTOMATIC = {"conversation_started": ("hour", "weekday")}  # filled from `when`
AREAS = ("southend", "thurrock", "essex", "elsewhere")  # commissioning areas
PRACTICE_CHANNELS = ("simulator", "terminal")  # practice is never counted
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_LONG_NUMBER = re.compile(r"\d{6}")
_BUFFER = "figure_counts"


def local_day(when: datetime) -> date:
    return when.astimezone(LONDON).date()


def bucket(minutes: float) -> str:
    """The fixed bucket a duration falls in ("m60" is more than 30, at most 60)."""
    return next((f"m{b}" for b in BUCKETS if minutes <= b), "more")


def commissioning_area(district: str | None) -> str:
    """Southend and Thurrock are their own areas; every other district is Essex;
    "outside" and not given are "elsewhere"."""
    if district in ("southend", "thurrock"):
        return district
    if not district or district == "outside":
        return "elsewhere"
    return "essex"


def code(value: object) -> str:
    """A value as a stored code: short, lower case, no long digit runs, else "other"."""
    text = str(value).strip().lower()
    if _CODE.fullmatch(text) and not _LONG_NUMBER.search(text):
        return text
    return "other"


def count(
    session: Session,
    event: str,
    when: datetime,
    *,
    area: str = "",
    minutes: float | None = None,
    n: int = 1,
    **dimensions: object,
) -> None:
    """Count `n` of `event` on `when`'s London day, in the caller's transaction.

    `area` is a commissioning area (see `commissioning_area`), "" where none
    applies. Each dimension given (None is skipped) adds a row for its value;
    `minutes` adds the duration's bucket (overall and per urgency). `channel`
    is always accepted: nothing from a practice channel is counted, and it is
    stored only for events that have a channel dimension."""
    allowed = EVENTS.get(event)
    if allowed is None:
        raise ValueError(f"unknown figure event {event!r}")
    if area and area not in AREAS:
        raise ValueError(f"unknown figure area {area!r}")
    given = dict(dimensions)
    channel = given.pop("channel", None)
    if channel in PRACTICE_CHANNELS:
        return
    if "channel" in allowed:
        given["channel"] = channel
    day = local_day(when)
    rows: list[tuple[str, str]] = [("", "")]
    if event in AUTOMATIC:
        local = when.astimezone(LONDON)
        given.setdefault("hour", f"h{local.hour:02d}")
        given.setdefault("weekday", WEEKDAYS[local.weekday()])
    for name, value in given.items():
        if name not in allowed:
            raise ValueError(f"figure event {event!r} has no dimension {name!r}")
        if value is not None and value != "":
            rows.append((name, code(value)))
    if minutes is not None:
        slot = bucket(max(0.0, minutes))
        rows.append(("bucket", slot))
        urgency = given.get("urgency")
        if urgency in URGENCIES:
            rows.append((f"bucket_{urgency}", slot))
    session.connection()  # joins (or begins) the caller's transaction: its rollback drops these
    buffer: Counter[tuple[date, str, str, str, str]] = session.info.setdefault(_BUFFER, Counter())
    for dimension, value in rows:
        buffer[(day, event, area, dimension, value)] += n


def _write(session: OrmSession) -> None:
    """Add the buffered counts to the day rows, then the month rows: each in one
    statement over rows in sorted order, so concurrent writers lock alike."""
    buffer = session.info.pop(_BUFFER, None)
    if not buffer:
        return
    insert: Any = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    months: Counter[tuple[date, str, str, str, str]] = Counter()
    for (day, *rest), n in buffer.items():
        months[(day.replace(day=1), *rest)] += n
    for model, first, counts in ((FigureCount, "day", buffer), (FigureMonthCount, "month", months)):
        table = table_of(model)
        statement = insert(table)
        keys = [first, "event", "area", "dimension", "value"]
        rows = [
            {**dict(zip(keys, key, strict=True)), "count": n} for key, n in sorted(counts.items())
        ]
        session.execute(
            statement.on_conflict_do_update(
                index_elements=keys, set_={"count": table.c.count + statement.excluded.count}
            ),
            rows,
        )


def _forget(session: OrmSession, *_args: object) -> None:
    session.info.pop(_BUFFER, None)


def _ended(session: OrmSession, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction ended without a commit
        _forget(session)


sa_event.listen(OrmSession, "before_commit", _write)
sa_event.listen(OrmSession, "after_soft_rollback", _forget)
sa_event.listen(OrmSession, "after_transaction_end", _ended)


@dataclass(frozen=True, slots=True)
class Total:
    event: str
    area: str
    dimension: str
    value: str
    count: int


def totals(session: Session, start: date, end: date, events: tuple[str, ...] = ()) -> list[Total]:
    """Every count summed over the days from `start` to `end` (both included);
    whole months (every period the figures offer) are read from the month rows."""
    whole_months = start.day == 1 and (end + timedelta(days=1)).day == 1
    table = table_of(FigureMonthCount if whole_months else FigureCount)
    when = table.c.month if whole_months else table.c.day
    query = (
        select(
            table.c.event,
            table.c.area,
            table.c.dimension,
            table.c.value,
            func.sum(table.c.count),
        )
        .where(when >= start, when <= end)
        .group_by(table.c.event, table.c.area, table.c.dimension, table.c.value)
    )
    if events:
        query = query.where(table.c.event.in_(events))
    return [
        Total(event, area, dimension, value, int(n or 0))
        for event, area, dimension, value, n in session.execute(query).all()
    ]
