"""The Figures section of the dashboard: anonymous counts for supervisors and
commissioners, and the handler's optional equality monitoring form.

Why separate routes: a commissioner may reach these pages and nothing else
(`access.figures`; every request, number and audit page needs a handler or
supervisor, bot/dashboard/auth.py). The page reads only `figure_counts`
(bot/storage/figures.py), through the suppression in figures_report.py, so
nothing here can show a person. Charts are SVG drawn on the server, each with
its numbers in a table beside it; every table downloads as CSV.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from bot.dashboard import access, audit, present, sessions
from bot.dashboard import figures_report as fr
from bot.dashboard.access import Staff
from bot.services import services_of
from bot.storage import figures
from bot.storage.figures import LONDON
from bot.storage.models import StaffSession

TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
TEMPLATES.env.filters.update(language_name=present.language_name)

router = APIRouter(prefix="/dashboard", include_in_schema=False)

Viewer = Annotated[Staff, Depends(access.figures)]
Handler = Annotated[Staff, Depends(access.handler)]
SignedIn = Annotated[Staff, Depends(access.signed_in)]

# The equality questions and their answers (codes; words in _figures_words.html).
# Each may be skipped; the bot never asks them.
EQUALITY: dict[str, tuple[str, ...]] = {
    "gender": ("woman", "man", "non_binary", "other", "prefer_not_to_say"),
    "age_band": (
        "age_16_17",
        "age_18_24",
        "age_25_34",
        "age_35_44",
        "age_45_54",
        "age_55_64",
        "age_65_plus",
        "prefer_not_to_say",
    ),
    "ethnic_group": (
        "white_british",
        "white_irish",
        "white_gypsy_traveller",
        "white_roma",
        "white_other",
        "mixed_white_black_caribbean",
        "mixed_white_black_african",
        "mixed_white_asian",
        "mixed_other",
        "asian_indian",
        "asian_pakistani",
        "asian_bangladeshi",
        "asian_chinese",
        "asian_other",
        "black_african",
        "black_caribbean",
        "black_other",
        "other_arab",
        "other_any",
        "prefer_not_to_say",
    ),
    "disability": ("yes", "no", "prefer_not_to_say"),
    "sexual_orientation": ("straight", "gay_lesbian", "bisexual", "other", "prefer_not_to_say"),
    "harmed_by": ("partner", "ex_partner", "family_member", "other", "prefer_not_to_say"),
}
Answer = Annotated[str, Form(max_length=40)]

CHART_WIDTH = 260
BAR_HEIGHT = 18


def _words() -> Any:
    return TEMPLATES.env.get_template("_figures_words.html").module


def _render(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    services = services_of(request.app.state)
    base = {"areas": present.area_names(services.content.data)}
    return TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status)


def _choose(request: Request, period: str, area: str) -> tuple[fr.Period | None, str | None]:
    today = access.now_of(request).astimezone(LONDON).date()
    try:
        chosen = fr.parse_period(period) if period else fr.period_of(today)
    except fr.BadPeriod:
        chosen = None
    view = area if area in fr.VIEWS else None
    return chosen, view


def bars(table: fr.Table) -> dict[str, Any]:
    """Where each bar of a table's chart goes (drawn by figures_chart.html)."""
    biggest = max([r.cell.value for r in table.rows if r.cell.shown] or [1]) or 1
    out = []
    for i, row in enumerate(table.rows):
        width = round(CHART_WIDTH * row.cell.value / biggest) if row.cell.shown else 0
        out.append({"row": row, "y": i * (BAR_HEIGHT + 6), "width": width})
    return {"bars": out, "height": max(1, len(out)) * (BAR_HEIGHT + 6), "width": CHART_WIDTH}


@router.get("/figures", response_class=HTMLResponse)
def figures_page(
    request: Request, staff: Viewer, period: str = "", area: str = "all"
) -> HTMLResponse:
    """Supervisors and commissioners: the figures for one period and area."""
    chosen, view = _choose(request, period[:10], area[:20])
    today = access.now_of(request).astimezone(LONDON).date()
    context: dict[str, Any] = {
        "staff": staff,
        "choices": fr.recent_periods(today),
        "views": fr.VIEWS,
        "asked_period": period[:10],
        "asked_area": area[:20],
    }
    if chosen is None or view is None:
        problem = "period" if chosen is None else "area"
        return _render(request, "figures.html", {**context, "problem": problem}, 400)
    services = services_of(request.app.state)
    with services.db.session() as db:
        report = fr.build(db, chosen, view)
        db.commit()
    context.update(report=report, sections=fr.SECTIONS, bars=bars)
    return _render(request, "figures.html", context)


@router.get("/figures.csv")
def figures_csv(
    request: Request, staff: Viewer, period: str = "", area: str = "all", table: str = ""
) -> Response:
    """One table (or every table) as CSV: the same suppressed cells as the page."""
    chosen, view = _choose(request, period[:10], area[:20])
    if chosen is None or view is None or (table and table not in {t[0] for t in fr.TABLES}):
        problem = "period" if chosen is None else ("area" if view is None else "table")
        context = {"staff": staff, "problem": problem, "choices": [], "views": fr.VIEWS}
        return _render(request, "figures.html", context, 400)
    services = services_of(request.app.state)
    with services.db.session() as db:
        report = fr.build(db, chosen, view)
        db.commit()
    body = to_csv(report, present.area_names(services.content.data), only=table)
    name = f"figures-{chosen.code}-{view}{'-' + table if table else ''}.csv".lower()
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def to_csv(report: fr.Report, areas: dict[str, str], only: str = "") -> str:
    """Tables as CSV rows: period, area, table, row, count (words, not codes)."""
    words = _words()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["period", "area", "table", "row", "count"])
    where = str(words.view(report.view))
    for table in report.tables:
        if (only and table.id != only) or table.all_areas_only:
            continue
        title = str(words.table(table.id))
        for row in table.rows:
            label = str(words.value(table.dimension, row.value, areas))
            writer.writerow([report.period.code, where, title, label, str(words.cell(row.cell))])
        writer.writerow([report.period.code, where, title, "Total", str(words.cell(table.total))])
    if not only:
        for wait in report.waits:
            title = f"{words.wait(wait.label)}: {words.urgency(wait.urgency)}"
            for name, code in (("Median", wait.median), ("90th percentile", wait.p90)):
                writer.writerow([report.period.code, where, title, name, str(words.bucket(code))])
    return out.getvalue()


@router.post("/figures/sign-out")
def sign_out(request: Request, staff: SignedIn) -> Response:
    """Any account (a commissioner has no other page to sign out from)."""
    services = services_of(request.app.state)
    now = access.now_of(request)
    with services.db.session() as db:
        row = db.get(StaffSession, staff.session_id)
        if row is not None:
            sessions.end(db, row, now)
        audit.record(db, "logout", now, staff.user)
        db.commit()
    response = RedirectResponse("/dashboard/login?signed_out=true", status_code=303)
    response.delete_cookie(sessions.COOKIE, path="/dashboard")
    return response


# ----- equality monitoring ----------------------------------------------------


@router.get("/equality", response_class=HTMLResponse)
def equality_form(request: Request, staff: Handler, done: str = "") -> HTMLResponse:
    """Handlers: the optional monitoring questions, after a call, every one skippable."""
    context = {"staff": staff, "questions": EQUALITY, "done": done[:10], "given": {}}
    return _render(request, "figures_equality.html", context)


@router.post("/equality", response_class=HTMLResponse)
def equality_record(
    request: Request,
    staff: Handler,
    gender: Answer = "",
    age_band: Answer = "",
    ethnic_group: Answer = "",
    disability: Answer = "",
    sexual_orientation: Answer = "",
    harmed_by: Answer = "",
) -> Response:
    """Counted and nothing else kept: no request, no person, no handler is stored with it."""
    given = {
        "gender": gender,
        "age_band": age_band,
        "ethnic_group": ethnic_group,
        "disability": disability,
        "sexual_orientation": sexual_orientation,
        "harmed_by": harmed_by,
    }
    wrong = [q for q, a in given.items() if a and a not in EQUALITY[q]]
    if wrong:
        context = {"staff": staff, "questions": EQUALITY, "problem": wrong, "given": given}
        return _render(request, "figures_equality.html", context, 400)
    answered = {q: a for q, a in given.items() if a}
    if not answered:
        return RedirectResponse("/dashboard/equality?done=skipped", status_code=303)
    services = services_of(request.app.state)
    now: datetime = access.now_of(request)
    with services.db.session() as db:
        figures.count(db, "equality", now, **dict[str, Any](answered))
        db.commit()
    return RedirectResponse("/dashboard/equality?done=saved", status_code=303)
