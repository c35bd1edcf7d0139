"""The figures as tables, with small numbers suppressed: what the Figures page,
its CSV downloads and `frontdoor figures` all show.

Why a module of its own: the suppression rule must be the same everywhere a
figure leaves the service. Any count from 1 to 4 shows "fewer than 5" (code
"small"); a zero is shown as 0, since it tells nothing about anyone (and a
district outside an area is always 0 there). Totals must not give a hidden cell
away, neither inside one table nor by differencing two (an area against all
areas, one breakdown of an event against another, since every breakdown of an
event shares its totals). So for each event the counts form a grid per
breakdown: the commissioning areas (Southend, Thurrock, Essex, elsewhere) by
the breakdown's values, with each row's total and the all-areas row. Every line
of that grid (a row with its total, a column with its all-areas cell) is
checked: if what is shown would pin a hidden cell to one number, the smallest
shown cell of that line is withheld too (code "withheld"), and so on until
nothing hidden can be worked out. Rows' totals are shared by every breakdown of
an event, so a total withheld in one breakdown is withheld in all of them.
"Elsewhere" is never shown on its own but is protected as if it were, since it
is all areas less the three shown.
Across periods, a quarter's or a year's cell is hidden whenever it is hidden in
any of its months (see `build`), so no period can be differenced against others.

Python hands codes to the templates; the words are in figures*.html.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from bot.storage import figures

SMALL = 5
INF = 10**12
VIEWS = ("all", "southend", "thurrock", "essex")
NOT_RECORDED = "not_recorded"

HOURS = tuple(f"h{h:02d}" for h in range(24))
ROUTES = ("me", "someone_else", "own_behaviour", "professional")
CHANNELS = ("sms", "telegram", "whatsapp", "webchat")
RESULTS = ("reached", "not_reached", "cancelled")
# (table id, section, event, dimension, fixed values): a fixed list keeps every
# row in view, so a row's absence says nothing.
TABLES: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("contacts_channel", "contacts", "conversation_started", "channel", CHANNELS),
    ("contacts_language", "contacts", "conversation_started", "language", ()),
    ("contacts_hour", "contacts", "conversation_started", "hour", HOURS),
    ("contacts_weekday", "contacts", "conversation_started", "weekday", figures.WEEKDAYS),
    ("contacts_route", "contacts", "route_chosen", "route", (*ROUTES, "young")),
    ("safety_emergency", "safety", "emergency_guidance", "channel", CHANNELS),
    ("safety_replies", "safety", "safety_reply", "signal", ("crisis", "child", "harm_risk")),
    ("safety_exits", "safety", "quick_exit", "channel", CHANNELS),
    ("callbacks_urgency", "callbacks", "callback_requested", "urgency", figures.URGENCIES),
    ("callbacks_district", "callbacks", "callback_requested", "district", ()),
    ("callbacks_channel", "callbacks", "callback_requested", "channel", CHANNELS),
    ("callbacks_route", "callbacks", "callback_requested", "route", ROUTES),
    ("callbacks_language", "callbacks", "callback_requested", "language", ()),
    ("callbacks_result", "callbacks", "callback_result", "result", RESULTS),
    ("timeliness_first", "timeliness", "wait_first_attempt", "bucket", figures.BUCKET_VALUES),
    ("timeliness_reached", "timeliness", "wait_reached", "bucket", figures.BUCKET_VALUES),
    ("timeliness_same_day", "timeliness", "urgent_same_day", "met", ("yes", "no")),
    ("outcomes", "outcomes", "outcome", "outcome", (
        "support_given", "referred_idva_marac", "refuge", "community_support",
        "children_young_people", "perpetrator_programme", "signposted", "declined",
    )),
    ("chats_waited", "chats", "chat_waited", "channel", ()),
    ("chats_answered", "chats", "chat_answered", "channel", ()),
    ("chats_first_reply", "chats", "chat_first_reply", "bucket", figures.BUCKET_VALUES),
    ("equality_gender", "equality", "equality", "gender", ()),
    ("equality_age_band", "equality", "equality", "age_band", ()),
    ("equality_ethnic_group", "equality", "equality", "ethnic_group", ()),
    ("equality_disability", "equality", "equality", "disability", ()),
    ("equality_sexual_orientation", "equality", "equality", "sexual_orientation", ()),
    ("equality_harmed_by", "equality", "equality", "harmed_by", ()),
)  # fmt: skip
SECTIONS = ("contacts", "safety", "callbacks", "timeliness", "outcomes", "chats", "equality")
# Durations reported as median and 90th percentile: (event, label code).
WAITS = (
    ("wait_first_attempt", "first_attempt"),
    ("wait_reached", "reached"),
    ("chat_first_reply", "chat_first_reply"),
)


class BadPeriod(ValueError):
    """A period that is not YYYY, YYYY-MM or YYYY-Qn."""


@dataclass(frozen=True, slots=True)
class Period:
    code: str
    kind: str  # year, quarter, month
    start: date
    end: date


def parse_period(text: str) -> Period:
    """ "2026", "2026-07" or "2026-Q3" (any case) as its first and last day."""
    text = (text or "").strip().upper()
    if match := re.fullmatch(r"(\d{4})", text):
        year = int(match[1])
        return Period(text, "year", date(year, 1, 1), date(year, 12, 31))
    if match := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        year, quarter = int(match[1]), int(match[2])
        first = 3 * quarter - 2
        last = calendar.monthrange(year, first + 2)[1]
        return Period(text, "quarter", date(year, first, 1), date(year, first + 2, last))
    if match := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12:
            last = calendar.monthrange(year, month)[1]
            return Period(text, "month", date(year, month, 1), date(year, month, last))
    raise BadPeriod(text)


def period_of(day: date, kind: str = "quarter") -> Period:
    if kind == "year":
        return parse_period(f"{day.year}")
    if kind == "month":
        return parse_period(f"{day.year}-{day.month:02d}")
    return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def recent_periods(today: date) -> list[Period]:
    """The choices offered: this and the last 11 months, 8 quarters and 3 years."""
    months, quarters = [], []
    year, month = today.year, today.month
    for _ in range(12):
        months.append(parse_period(f"{year}-{month:02d}"))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    year, quarter = today.year, (today.month - 1) // 3 + 1
    for _ in range(8):
        quarters.append(parse_period(f"{year}-Q{quarter}"))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    years = [parse_period(str(today.year - n)) for n in range(3)]
    return quarters + months + years


@dataclass(frozen=True, slots=True)
class Cell:
    value: int
    state: str  # shown, small, withheld

    @property
    def shown(self) -> bool:
        return self.state == "shown"


@dataclass
class Row:
    value: str
    cell: Cell


@dataclass
class Table:
    id: str
    section: str
    event: str
    dimension: str
    rows: list[Row]
    total: Cell
    all_areas_only: bool = False


@dataclass
class Wait:
    event: str
    label: str
    urgency: str  # all, urgent, standard
    count: Cell
    median: str | None  # a bucket code, None when withheld
    p90: str | None


@dataclass
class Report:
    period: Period
    view: str
    tables: list[Table] = field(default_factory=list)
    waits: list[Wait] = field(default_factory=list)

    def section(self, name: str) -> list[Table]:
        return [t for t in self.tables if t.section == name]

    def table(self, table_id: str) -> Table | None:
        return next((t for t in self.tables if t.id == table_id), None)


# ----- suppression ------------------------------------------------------------


def _range(value: int, hidden: bool) -> tuple[int, int]:
    if not hidden:
        return value, value
    return (1, SMALL - 1) if value < SMALL else (SMALL, INF)


def _pinned(values: list[int], hidden: list[bool]) -> bool:
    """Would the line's equation (cells add up to the last entry, the total) pin
    a hidden entry to a single number, given what each label says of it?"""
    ranges = [_range(v, h) for v, h in zip(values, hidden, strict=True)]
    *cells, total = ranges
    low = sum(r[0] for r in cells)
    high = sum(r[1] for r in cells)
    for i, is_hidden in enumerate(hidden):
        if not is_hidden:
            continue
        own = ranges[i]
        if i == len(ranges) - 1:
            lo, hi = max(own[0], low), min(own[1], high)
        else:
            lo = max(own[0], total[0] - (high - ranges[i][1]))
            hi = min(own[1], total[1] - (low - ranges[i][0]))
        if lo >= hi:
            return True
    return False


def protect(grid: list[list[int]], hidden: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Withhold cells until no line pins a hidden cell. `grid` has the totals in
    its last column and, with more than one row, the all-areas row last."""
    hidden = set(hidden) | {
        (r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if 0 < v < SMALL
    }
    rows, cols = len(grid), len(grid[0])
    lines = [[(r, c) for c in range(cols)] for r in range(rows)]
    if rows > 1:
        lines += [[(r, c) for r in range(rows)] for c in range(cols)]
    changed = True
    while changed:
        changed = False
        for line in lines:
            values = [grid[r][c] for r, c in line]
            flags = [(r, c) in hidden for r, c in line]
            if not any(flags) or not _pinned(values, flags):
                continue
            shown = [(grid[r][c], i == len(line) - 1, (r, c)) for i, (r, c) in enumerate(line)]
            open_ = sorted((last, v, rc) for v, last, rc in shown if rc not in hidden and v)
            if open_:
                hidden.add(open_[0][2])
                changed = True
    return hidden


# ----- building the report ----------------------------------------------------


def _values(dimension: str, fixed: tuple[str, ...], seen: set[str]) -> list[str]:
    extra = sorted(seen - set(fixed))
    return [*fixed, *extra]


Counts = dict[tuple[str, str, str, str], int]
TOTAL = ""  # the key of a grid's total column


@dataclass
class _Grid:
    """One breakdown of an event for every area (rows) and value (columns, the
    total last), with the cells suppression hides."""

    areas: list[str]
    values: list[str]
    grid: list[list[int]]
    hidden: set[tuple[int, int]] = field(default_factory=set)

    def key(self, r: int, c: int) -> tuple[str, str]:
        return self.areas[r], self.values[c] if c < len(self.values) else TOTAL

    def at(self, key: tuple[str, str]) -> tuple[int, int] | None:
        area, value = key
        if area not in self.areas or (value != TOTAL and value not in self.values):
            return None
        column = len(self.values) if value == TOTAL else self.values.index(value)
        return self.areas.index(area), column


def months_of(period: Period) -> list[Period]:
    """The calendar months a period is made of."""
    first, last = period.start, period.end
    return [period_of(date(first.year, m, 1), "month") for m in range(first.month, last.month + 1)]


def _read(session: Session, period: Period) -> Counts:
    counts: Counts = defaultdict(int)
    for t in figures.totals(session, period.start, period.end):
        counts[(t.event, t.area, t.dimension, t.value)] += t.count
    return counts


def build(session: Session, period: Period, view: str = "all") -> Report:
    """Every table for `period`, seen from one commissioning area or all.

    Across periods: a quarter or a year is its months added up, so a quarter
    less two of its months would give the third away (and a year less three
    quarters the fourth, an area the same way). So a quarter's or a year's
    cell is hidden whenever the same cell (event, breakdown, area, value or
    total) is hidden in any of its months, before its own lines are checked.
    What such a period shows is then only sums of cells every month shows, so
    it tells nobody more than the month tables already do; and a month's
    tables never depend on any other month, so they read the same whenever
    they are printed."""
    if view not in VIEWS:
        raise ValueError(view)
    forced: dict[str, set[tuple[str, str]]] = defaultdict(set)
    waits_hidden: set[tuple[str, str]] = set()
    if period.kind == "month":
        counts = _read(session, period)
    else:
        counts = defaultdict(int)
        for month in months_of(period):
            month_counts = _read(session, month)
            for key, n in month_counts.items():
                counts[key] += n
            for table_id, g in _grids(month_counts, {}).items():
                forced[table_id] |= {g.key(r, c) for r, c in g.hidden}
            waits_hidden |= {
                (w.event, w.urgency) for w in _waits(month_counts, view) if not w.count.shown
            }
    grids = _grids(counts, forced)
    report = Report(period, view)
    for table_id, section, event, dimension, _fixed in TABLES:
        g = grids[table_id]
        if view not in g.areas:  # an area view of a figure counted for all areas only
            report.tables.append(
                Table(table_id, section, event, dimension, [], Cell(0, "withheld"), True)
            )
            continue
        r = g.areas.index(view)
        rows = [Row(v, _cell(g.grid, g.hidden, r, i)) for i, v in enumerate(g.values)]
        whole = _cell(g.grid, g.hidden, r, len(g.values))
        report.tables.append(Table(table_id, section, event, dimension, rows, whole))
    report.waits = _waits(counts, view, waits_hidden)
    return report


def _grids(counts: Counts, forced: dict[str, set[tuple[str, str]]]) -> dict[str, _Grid]:
    """Every table's grid, suppressed; `forced` names cells (area, value) to hide."""
    areas_of: dict[str, set[str]] = defaultdict(set)
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for event, area, dimension, value in counts:
        areas_of[event].add(area)
        if dimension:
            seen[(event, dimension)].add(value)
    by_event: dict[str, list[tuple[str, str, tuple[str, ...]]]] = defaultdict(list)
    for table_id, _section, event, dimension, fixed in TABLES:
        by_event[event].append((table_id, dimension, fixed))
    out: dict[str, _Grid] = {}
    for event, tables in by_event.items():
        out.update(_event_grids(event, tables, counts, areas_of[event], seen, forced))
    return out


def _event_grids(
    event: str,
    tables: list[tuple[str, str, tuple[str, ...]]],
    counts: Counts,
    stored_areas: set[str],
    seen: dict[tuple[str, str], set[str]],
    forced: dict[str, set[tuple[str, str]]],
) -> dict[str, _Grid]:
    area_scoped = bool(stored_areas - {""})
    areas = [*figures.AREAS, "all"] if area_scoped else ["all"]

    def at(area: str, dimension: str, value: str) -> int:
        if area == "all":
            return sum(counts.get((event, a, dimension, value), 0) for a in ("", *figures.AREAS))
        return counts.get((event, area, dimension, value), 0)

    grids: dict[str, _Grid] = {}
    for table_id, dimension, fixed in tables:
        values = _values(dimension, fixed, seen[(event, dimension)])
        grid = []
        for area in areas:
            total = at(area, "", "")
            cells = [at(area, dimension, v) for v in values]
            grid.append([*cells, total])
        if any(row[-1] - sum(row[:-1]) for row in grid):
            values.append(NOT_RECORDED)
            for row in grid:
                row.insert(-1, row[-1] - sum(row[:-1]))
        grids[table_id] = _Grid(areas, values, grid)

    # The row totals are shared by every breakdown: withhold them alike.
    totals_hidden: set[int] = set()
    while True:
        before = set(totals_hidden)
        for table_id, g in grids.items():
            last = len(g.values)
            spots = (g.at(key) for key in forced.get(table_id, set()))
            given = {rc for rc in spots if rc is not None and g.grid[rc[0]][rc[1]]}
            g.hidden = protect(g.grid, given | {(r, last) for r in totals_hidden})
            totals_hidden |= {r for r, c in g.hidden if c == last}
        if totals_hidden == before:
            break
    return grids


def _cell(grid: list[list[int]], hidden: set[tuple[int, int]], r: int, c: int) -> Cell:
    value = grid[r][c]
    if (r, c) not in hidden:
        return Cell(value, "shown")
    return Cell(value, "small" if value < SMALL else "withheld")


def _quantile(histogram: list[tuple[str, int]], share: float) -> str | None:
    total = sum(n for _, n in histogram)
    if total < SMALL:
        return None
    running = 0
    for code, n in histogram:
        running += n
        if running >= share * total:
            return code
    return histogram[-1][0]


def _waits(counts: Counts, view: str, hidden: set[tuple[str, str]] | None = None) -> list[Wait]:
    """Median and 90th percentile of each wait, overall and by urgency, as the
    bucket they fall in; withheld when fewer than 5 were timed."""
    areas = ("", *figures.AREAS) if view == "all" else (view,)
    waits = []
    for event, label in WAITS:
        urgencies = ("all", *figures.URGENCIES) if event != "chat_first_reply" else ("all",)
        for urgency in urgencies:
            dimension = "bucket" if urgency == "all" else f"bucket_{urgency}"
            histogram = [
                (code, sum(counts.get((event, a, dimension, code), 0) for a in areas))
                for code in figures.BUCKET_VALUES
            ]
            n = sum(v for _, v in histogram)
            state = "shown" if n >= SMALL or n == 0 else "small"
            if state == "shown" and n and (event, urgency) in (hidden or set()):
                state = "withheld"  # hidden in one of its months: see `build`
            shown = Cell(n, state)
            waits.append(
                Wait(
                    event,
                    label,
                    urgency,
                    shown,
                    _quantile(histogram, 0.5),
                    _quantile(histogram, 0.9),
                )
            )
    return waits


def as_json(report: Report) -> dict[str, Any]:
    """The report as plain data (codes; a hidden cell's number is never included)."""

    def cell(c: Cell) -> int | str:
        return c.value if c.shown else c.state

    return {
        "period": report.period.code,
        "area": report.view,
        "tables": [
            {
                "id": t.id,
                "section": t.section,
                "all_areas_only": t.all_areas_only,
                "rows": {r.value: cell(r.cell) for r in t.rows},
                "total": cell(t.total),
            }
            for t in report.tables
        ],
        "waits": [
            {
                "wait": w.label,
                "urgency": w.urgency,
                "count": cell(w.count),
                "median": w.median,
                "p90": w.p90,
            }
            for w in report.waits
        ],
    }
