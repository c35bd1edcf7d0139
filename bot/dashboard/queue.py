"""The queue: open requests, most urgent first, then safe to call now, then longest waiting.

Only columns without personal data are read here; a queue row never holds
a number or a name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from bot.dashboard import windows as win
from bot.storage.db import utc
from bot.storage.models import CallbackRequest
from bot.storage.requests import PRACTICE_CHANNEL as PRACTICE_CHANNEL  # shown only in practice

ROUTES = ("me", "someone_else", "own_behaviour", "professional")


@dataclass
class Filters:
    area: str = ""
    route: str = ""
    language: str = ""
    practice: bool = False  # the practice view: simulator requests only

    def apply(self, query):  # noqa: ANN001, ANN201 - a SQLAlchemy Select
        if self.practice:
            query = query.where(CallbackRequest.channel == PRACTICE_CHANNEL)
        else:
            query = query.where(CallbackRequest.channel != PRACTICE_CHANNEL)
        if self.area:
            query = query.where(CallbackRequest.area == self.area)
        if self.route:
            query = query.where(CallbackRequest.route == self.route)
        if self.language:
            query = query.where(CallbackRequest.language == self.language)
        return query


@dataclass
class Row:
    request: CallbackRequest
    safe: win.SafeState
    waiting_minutes: int
    urgent: bool
    later: datetime | None  # a planned call-back time still ahead
    # Urgent requests have a same-day target: past it once London's day has
    # changed since the request was made.
    target_missed: bool = False

    @property
    def callable_now(self) -> bool:
        return self.safe.now and self.later is None


def row_for(
    request: CallbackRequest, hours: list[win.Window], now: datetime, urgent_priority: int
) -> Row:
    windows = win.effective(request.safe_windows or [], request.asap, hours)
    later = utc(request.call_back_at) if request.call_back_at else None
    if later is not None and later <= now:
        later = None
    made_on = utc(request.created_at).astimezone(win.LONDON).date()
    return Row(
        request=request,
        safe=win.state(windows, now),
        waiting_minutes=max(0, int((now - utc(request.created_at)).total_seconds() // 60)),
        urgent=request.priority >= urgent_priority,
        later=later,
        target_missed=now.astimezone(win.LONDON).date() > made_on,
    )


def sort_key(row: Row) -> tuple:
    return (-row.request.priority, not row.callable_now, utc(row.request.created_at))


def open_rows(
    session: Session,
    hours: list[win.Window],
    now: datetime,
    urgent_priority: int,
    filters: Filters | None = None,
) -> list[Row]:
    query = select(CallbackRequest).where(col(CallbackRequest.status) == "open")
    query = (filters or Filters()).apply(query)
    rows = [row_for(r, hours, now, urgent_priority) for r in session.execute(query).scalars()]
    return sorted(rows, key=sort_key)


def claimed_by(
    session: Session, user_id: int, hours: list[win.Window], now: datetime, urgent_priority: int
) -> list[Row]:
    query = select(CallbackRequest).where(
        col(CallbackRequest.status) == "claimed", col(CallbackRequest.claimed_by) == user_id
    )
    rows = [row_for(r, hours, now, urgent_priority) for r in session.execute(query).scalars()]
    return sorted(rows, key=sort_key)


def choices(session: Session) -> dict[str, list[str]]:
    """Values present in open requests, for the filter menus."""
    found: dict[str, set[str]] = {"area": set(), "route": set(), "language": set()}
    for area, route, language in session.execute(
        select(
            col(CallbackRequest.area), col(CallbackRequest.route), col(CallbackRequest.language)
        ).where(col(CallbackRequest.status).in_(("open", "claimed")))
    ):
        if area:
            found["area"].add(area)
        found["route"].add(route)
        found["language"].add(language)
    return {key: sorted(values) for key, values in found.items()}
