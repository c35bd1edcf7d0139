"""Figures: journeys through the SMS channel and the dashboard become anonymous
daily counts, in the same transaction, on SQLite and PostgreSQL; the counts hold
no reference, person key, number or words; they survive the worker purging
everything personal; small numbers are suppressed and cannot be worked out
from totals, in one table or by differencing two."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlmodel import SQLModel

from bot.dashboard import figures_report as fr
from bot.engine import Engine
from bot.storage import figures
from bot.storage.models import CallbackRequest, Conversation, FigureCount, FigureMonthCount
from bot.worker import purge
from tests.dashboard_support import Clock, add_user, app_with_clock, bot_store, csrf_of, sign_in
from tests.sms_support import SmsChat, sms_engine
from tests.test_journeys import callback_answers, practical_answers, to_callback, triage_asked

# Wednesday 15 July 2026, 09:00 UTC = 10:00 in London (BST).
WEDNESDAY = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)
Q3 = fr.parse_period("2026-Q3")


def raw(engine: Engine) -> dict[tuple[str, str, str, str], int]:
    """Every stored figure summed over all days: (event, area, dimension, value)."""
    with engine.db.session() as session:
        rows = figures.totals(session, date(2000, 1, 1), date(2100, 1, 1))
        session.commit()
    return {(t.event, t.area, t.dimension, t.value): t.count for t in rows}


def stored_rows(engine: Engine) -> list[FigureCount]:
    with engine.db.session() as session:
        rows = list(session.execute(select(FigureCount)).scalars())
        session.commit()
    return rows


def month_rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.db.session() as session:
        rows = session.execute(select(FigureMonthCount)).scalars()
        found = sorted((r.month, r.event, r.area, r.dimension, r.value, r.count) for r in rows)
        session.commit()
    return found


def full_request_by_sms(chat: SmsChat) -> None:
    """Hello to a confirmed request (Colchester, not urgent), typed as texts."""
    chat.start("me")
    chat.send("menu")
    to_callback(chat)
    callback_answers(chat)
    triage_asked(chat, "no")
    practical_answers(chat)
    chat.send("Please call after the school run")
    chat.pick("looks_right")
    assert chat.key == "callback.confirmed"


def attempt(client: TestClient, reference: str, kind: str, outcome: str = "") -> None:
    page = client.get(f"/dashboard/requests/{reference}")
    response = client.post(
        f"/dashboard/requests/{reference}/attempts",
        data={"kind": kind, "outcome": outcome, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert "recorded=" in response.headers["location"], response.headers["location"]


def claim(client: TestClient, reference: str) -> None:
    page = client.get(f"/dashboard/requests/{reference}")
    response = client.post(
        f"/dashboard/requests/{reference}/claim",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code in (200, 303), response.text


@pytest.fixture
def journeys(engine: Engine) -> tuple[Engine, str]:
    """Three people text in and a handler works the one request made; returns the
    SMS engine and the request's reference."""
    sms = sms_engine(engine)
    person = SmsChat(sms, address="+447700900123")
    person.now = WEDNESDAY
    full_request_by_sms(person)
    danger = SmsChat(sms, address="+447700900124")
    danger.now = WEDNESDAY + timedelta(hours=1)
    danger.send("hi")
    assert danger.pick("danger")[0].key == "words.danger"
    leaver = SmsChat(sms, address="+447700900125")
    leaver.now = WEDNESDAY + timedelta(hours=1)
    leaver.send("hi")
    assert leaver.send("exit")[0].action == "quick_exit"
    with sms.db.session() as session:
        reference = session.execute(select(CallbackRequest.reference)).scalar_one()
        session.commit()
    clock = Clock(WEDNESDAY + timedelta(minutes=20))
    add_user(sms, "alice", "handler")
    client = TestClient(app_with_clock(sms, clock), base_url="https://testserver")
    assert sign_in(client, "alice").status_code == 303
    claim(client, reference)
    attempt(client, reference, "no_answer")  # 20 minutes after the request: the first try
    for _ in range(7):  # the claim and the session stay alive while the handler works
        clock.advance(minutes=10)
        assert client.get(f"/dashboard/requests/{reference}").status_code == 200
    attempt(client, reference, "reached")  # 90 minutes after: reached
    attempt(client, reference, "closed", "referred_idva_marac")
    return sms, reference


def test_journeys_through_sms_and_the_dashboard_become_counts(
    journeys: tuple[Engine, str],
) -> None:
    engine, _reference = journeys
    got = raw(engine)
    # Three conversations began, on SMS, in English, on a Wednesday at 10 and 11.
    assert got[("conversation_started", "", "", "")] == 3
    assert got[("conversation_started", "", "channel", "sms")] == 3
    assert got[("conversation_started", "", "language", "en")] == 3
    assert got[("conversation_started", "", "weekday", "wed")] == 3
    assert got[("conversation_started", "", "hour", "h10")] == 1
    assert got[("conversation_started", "", "hour", "h11")] == 2
    assert got[("route_chosen", "", "route", "me")] == 1
    assert got[("emergency_guidance", "", "", "")] == 1
    assert got[("quick_exit", "", "channel", "sms")] == 1
    # The request counts once, under its final district and area, not urgent.
    assert got[("callback_requested", "essex", "", "")] == 1
    assert got[("callback_requested", "essex", "district", "colchester")] == 1
    assert got[("callback_requested", "essex", "urgency", "standard")] == 1
    assert got[("callback_requested", "essex", "language", "en")] == 1
    assert got.get(("callback_requested", "elsewhere", "", ""), 0) == 0
    assert got[("wait_first_attempt", "essex", "bucket", "m30")] == 1
    assert got.get(("wait_reached", "essex", "bucket_standard", "m120")) == 1, {
        k: v for k, v in got.items() if k[0] in ("wait_reached", "callback_result", "outcome")
    }
    assert got[("callback_result", "essex", "result", "reached")] == 1
    assert got.get(("callback_result", "essex", "result", "not_reached"), 0) == 0
    assert got[("outcome", "essex", "outcome", "referred_idva_marac")] == 1


def test_no_figure_holds_a_reference_key_number_or_words(journeys: tuple[Engine, str]) -> None:
    engine, reference = journeys
    with engine.db.session() as session:
        person_keys = set(session.execute(select(Conversation.person_key)).scalars())
        session.commit()
    rows = stored_rows(engine)
    assert rows
    for name, first in (("figure_counts", "day"), ("figure_month_counts", "month")):
        columns = {c.name for c in SQLModel.metadata.tables[name].columns}
        assert columns == {first, "event", "area", "dimension", "value", "count"}
    for row in rows:
        text = " ".join([row.event, row.area, row.dimension, row.value])
        assert row.event in figures.EVENTS
        assert row.area in ("", *figures.AREAS)
        assert row.value == "" or re.fullmatch(r"[a-z][a-z0-9_]{0,39}", row.value), row.value
        assert reference.lower() not in text.lower()
        assert not re.search(r"\d{6}", text)
        assert not any(key in text for key in person_keys)
        for said in ("bluebell", "Sam", "pizza", "school run", "7700900"):
            assert said.lower() not in text.lower()


def test_figures_are_unchanged_after_everything_personal_is_purged(
    journeys: tuple[Engine, str],
) -> None:
    engine, _reference = journeys
    with engine.db.session() as session:
        before = fr.as_json(fr.build(session, Q3, "all"))
        session.commit()
    months_before = month_rows(engine)
    rows_before = sorted(
        (r.day, r.event, r.area, r.dimension, r.value, r.count) for r in stored_rows(engine)
    )
    purge(engine.db, engine.vault, engine.settings, WEDNESDAY + timedelta(days=400))
    with engine.db.session() as session:
        assert session.execute(select(func.count()).select_from(CallbackRequest)).scalar_one() == 0
        assert session.execute(select(func.count()).select_from(Conversation)).scalar_one() == 0
        after = fr.as_json(fr.build(session, Q3, "all"))
        session.commit()
    rows_after = sorted(
        (r.day, r.event, r.area, r.dimension, r.value, r.count) for r in stored_rows(engine)
    )
    assert rows_after == rows_before
    assert month_rows(engine) == months_before
    assert after == before


def test_a_repeated_message_is_counted_once(engine: Engine) -> None:
    sms = sms_engine(engine)
    chat = SmsChat(sms)
    chat.now = WEDNESDAY
    chat.send("hi", message_id="SM" + "a" * 32)
    chat.send("hi", message_id="SM" + "a" * 32)  # Twilio delivers the same text again
    assert raw(sms)[("conversation_started", "", "", "")] == 1


def test_practice_in_the_simulator_is_never_counted(engine: Engine) -> None:
    with engine.db.session() as session:
        figures.count(session, "conversation_started", WEDNESDAY, channel="simulator")
        figures.count(session, "callback_result", WEDNESDAY, channel="simulator", result="reached")
        session.commit()
    assert raw(engine) == {}


def test_a_cancelled_request_moves_nothing_and_counts_as_cancelled(engine: Engine) -> None:
    from tests.dashboard_support import make_request

    reference = make_request(engine, WEDNESDAY, area="thurrock")

    with engine.db.session() as session:
        store = bot_store(
            engine,
            session,
            engine.vault.person_key("sms", "person-1"),
            WEDNESDAY + timedelta(hours=2),
        )
        assert store.cancel()
        session.commit()
    got = raw(engine)
    assert reference
    assert got[("callback_requested", "thurrock", "", "")] == 1
    assert got[("callback_result", "thurrock", "result", "cancelled")] == 1


def test_unknown_event_or_dimension_is_refused_and_odd_values_become_other(
    sqlite_engine: Engine,
) -> None:
    with sqlite_engine.db.session() as session:
        with pytest.raises(ValueError):
            figures.count(session, "made_up", WEDNESDAY)
        with pytest.raises(ValueError):
            figures.count(session, "quick_exit", WEDNESDAY, name="Sam")
        figures.count(session, "route_chosen", WEDNESDAY, route="+447700900123")
        figures.count(session, "route_chosen", WEDNESDAY, route="FD-ABCD")
        session.commit()
    assert raw(sqlite_engine)[("route_chosen", "", "route", "other")] == 2


def test_a_rolled_back_transaction_takes_its_counts_with_it(sqlite_engine: Engine) -> None:
    with sqlite_engine.db.session() as session:
        figures.count(session, "quick_exit", WEDNESDAY, channel="sms")
        session.rollback()
        session.commit()
    assert raw(sqlite_engine) == {}


# ----- suppression --------------------------------------------------------------


def seed(engine: Engine, event: str, area: str, n: int, **dimensions: str) -> None:
    with engine.db.session() as session:
        figures.count(session, event, WEDNESDAY, area=area, n=n, **dimensions)
        session.commit()


def test_a_cell_under_5_shows_fewer_than_5_and_the_total_cannot_give_it_away(
    sqlite_engine: Engine,
) -> None:
    seed(sqlite_engine, "quick_exit", "", 3, channel="telegram")
    seed(sqlite_engine, "quick_exit", "", 40, channel="sms")
    with sqlite_engine.db.session() as session:
        table = fr.build(session, Q3).table("safety_exits")
        session.commit()
    assert table is not None
    cells = {r.value: r.cell for r in table.rows}
    assert cells["telegram"].state == "small"
    assert table.total.shown and table.total.value == 43
    # The total is shown, so the 40 must not be: it would give 3 away.
    assert cells["sms"].state == "withheld"


def _solutions(
    lines: list[list[str]], known: dict[str, int], unknown: dict[str, range]
) -> dict[str, set[int]]:
    """The smallest and largest value each unknown can take with every line adding
    up (the last entry of a line is its total), by linear programming: what someone
    holding every published table could tell. An audit independent of
    `figures_report.protect`."""
    from scipy.optimize import linprog

    names = list(unknown)
    index = {n: i for i, n in enumerate(names)}
    rows, targets = [], []
    for line in lines:
        row = [0.0] * len(names)
        constant = 0.0
        for position, entry in enumerate(line):
            sign = -1.0 if position == len(line) - 1 else 1.0
            if entry in index:
                row[index[entry]] += sign
            else:
                constant += sign * known[entry]
        if any(row):
            rows.append(row)
            targets.append(-constant)
    bounds = [(unknown[n].start, unknown[n].stop - 1) for n in names]
    possible: dict[str, set[int]] = {}
    for n in names:
        ends = set()
        for direction in (1.0, -1.0):
            goal = [0.0] * len(names)
            goal[index[n]] = direction
            found = linprog(goal, A_eq=rows or None, b_eq=targets or None, bounds=bounds)
            assert found.success, found.message
            ends.add(round(found.x[index[n]]))
        possible[n] = ends
    return possible


def test_no_hidden_cell_can_be_worked_out_across_areas_and_all_areas(
    sqlite_engine: Engine,
) -> None:
    """Differencing: all areas less the areas shown must not give a hidden cell."""
    plan = {
        ("southend", "sms"): 3,
        ("southend", "telegram"): 9,
        ("thurrock", "sms"): 12,
        ("thurrock", "telegram"): 8,
        ("essex", "sms"): 30,
        ("essex", "telegram"): 2,
        ("elsewhere", "sms"): 6,
        ("elsewhere", "telegram"): 7,
    }
    for (area, channel), n in plan.items():
        seed(sqlite_engine, "callback_requested", area, n, channel=channel, urgency="standard")
    published: dict[str, fr.Table] = {}
    with sqlite_engine.db.session() as session:
        for view in fr.VIEWS:
            table = fr.build(session, Q3, view).table("callbacks_channel")
            assert table is not None
            published[view] = table
        session.commit()
    assert {r.value: r.cell.state for r in published["southend"].rows}["sms"] == "small"
    assert {r.value: r.cell.state for r in published["essex"].rows}["telegram"] == "small"
    # Everything a reader can see, and the equations it must satisfy.
    areas = ("southend", "thurrock", "essex", "elsewhere")
    channels = ("sms", "telegram")
    known: dict[str, int] = {}
    unknown: dict[str, range] = {}
    for view in ("southend", "thurrock", "essex", "all"):
        table = published[view]
        for name, cell in [*((r.value, r.cell) for r in table.rows), ("total", table.total)]:
            key = f"{view}:{name}"
            if cell.shown:
                known[key] = cell.value
            else:
                unknown[key] = range(1, 5) if cell.state == "small" else range(5, 10_000)
    for channel in (*channels, "total"):  # elsewhere is never published on its own
        unknown[f"elsewhere:{channel}"] = range(0, 10_000)
    lines = [[f"{a}:{c}" for c in channels] + [f"{a}:total"] for a in (*areas, "all")]
    lines += [[f"{a}:{c}" for a in areas] + [f"all:{c}"] for c in (*channels, "total")]
    small = {k for k in unknown if k.split(":")[0] != "elsewhere"}
    assert small
    possible = _solutions(lines, known, unknown)
    for key in small:
        assert len(possible[key]) > 1, (key, possible[key])


def test_every_hidden_cell_of_a_table_has_more_than_one_possible_value() -> None:
    """Many small tables: brute force what a reader could work out from the total."""
    import random

    chooser = random.Random(14)  # noqa: S311 - made-up counts, not secrets
    for _ in range(300):
        cells = [
            chooser.choice([0, 1, 2, 3, 4, 5, 6, 8, 13, 30]) for _ in range(chooser.randint(1, 4))
        ]
        grid = [[*cells, sum(cells)]]
        hidden = fr.protect(grid, set())
        names = [f"c{i}" for i in range(len(cells))] + ["t"]
        known = {
            n: v
            for (i, n), v in zip(enumerate(names), grid[0], strict=True)
            if (0, i) not in hidden
        }
        unknown = {
            n: (range(1, 5) if v < 5 else range(5, 10_000))
            for (i, n), v in zip(enumerate(names), grid[0], strict=True)
            if (0, i) in hidden
        }
        if not unknown:
            assert all(v >= 5 or v == 0 for v in cells)
            continue
        assert all((0, i) in hidden for i, v in enumerate(cells) if 0 < v < 5)
        assert all((0, i) not in hidden for i, v in enumerate(cells) if v == 0)
        possible = _solutions([names], known, unknown)
        for n in unknown:
            assert len(possible[n]) > 1, (cells, hidden, possible)


def test_breakdowns_of_one_event_withhold_their_shared_total_alike(sqlite_engine: Engine) -> None:
    """Two tables of one event share its total: a total hidden in one is hidden in all."""
    seed(sqlite_engine, "conversation_started", "", 3, channel="sms", language="en")
    with sqlite_engine.db.session() as session:
        report = fr.build(session, Q3)
        session.commit()
    states = {t.id: t.total.state for t in report.tables if t.event == "conversation_started"}
    assert set(states.values()) == {"small"}, states


def test_no_hidden_cell_can_be_worked_out_by_differencing_periods(
    sqlite_engine: Engine,
) -> None:
    """A quarter less two of its months, a year less three quarters, area by area:
    a reader holding every month, quarter and year table (each area and all areas)
    must not be able to work out any cell hidden in any of them."""
    plan = {  # (month, area, channel): count
        (7, "southend", "sms"): 3,
        (7, "southend", "telegram"): 9,
        (7, "essex", "sms"): 20,
        (7, "essex", "telegram"): 12,
        (7, "thurrock", "sms"): 9,
        (8, "southend", "sms"): 10,
        (8, "southend", "telegram"): 8,
        (8, "essex", "sms"): 15,
        (8, "essex", "telegram"): 11,
        (9, "southend", "sms"): 12,
        (9, "southend", "telegram"): 7,
        (9, "essex", "sms"): 30,
        (9, "essex", "telegram"): 6,
        (10, "thurrock", "sms"): 2,
        (10, "thurrock", "telegram"): 10,
        (10, "essex", "sms"): 8,
        (10, "essex", "telegram"): 9,
    }
    for (month, area, channel), n in plan.items():
        with sqlite_engine.db.session() as session:
            when = datetime(2026, month, 15, 9, 0, tzinfo=UTC)
            figures.count(
                session, "callback_requested", when, area=area, n=n, channel=channel,
                urgency="standard",
            )  # fmt: skip
            session.commit()
    months = [f"2026-{m:02d}" for m in range(1, 13)]
    quarters = [f"2026-Q{q}" for q in range(1, 5)]
    areas = ("southend", "thurrock", "essex", "elsewhere", "all")
    columns = ("sms", "telegram", "total")
    known: dict[str, int] = {}
    unknown: dict[str, range] = {}
    hidden: set[str] = set()
    with sqlite_engine.db.session() as session:
        for code in (*months, *quarters, "2026"):
            for view in fr.VIEWS:
                table = fr.build(session, fr.parse_period(code), view).table("callbacks_channel")
                assert table is not None
                cells = {r.value: r.cell for r in table.rows}
                for column in columns:
                    key = f"{code}:{view}:{column}"
                    if table.all_areas_only:  # nothing in this period was counted by area
                        unknown[key] = range(0, 10_000)
                        continue
                    cell = table.total if column == "total" else cells[column]
                    if cell.shown:
                        known[key] = cell.value
                    else:
                        unknown[key] = range(1, 5) if cell.state == "small" else range(5, 10_000)
                        hidden.add(key)
            for column in columns:  # elsewhere is never published on its own
                unknown[f"{code}:elsewhere:{column}"] = range(0, 10_000)
        session.commit()
    assert "2026-07:southend:sms" in hidden and "2026-Q4:thurrock:sms" in hidden
    lines = []
    for code in (*months, *quarters, "2026"):
        lines += [[f"{code}:{a}:{c}" for c in columns[:-1]] + [f"{code}:{a}:total"] for a in areas]
        lines += [[f"{code}:{a}:{c}" for a in areas[:-1]] + [f"{code}:all:{c}"] for c in columns]
    for area in areas:
        for column in columns:
            for q, quarter in enumerate(quarters):
                parts = months[3 * q : 3 * q + 3]
                lines.append(
                    [f"{m}:{area}:{column}" for m in parts] + [f"{quarter}:{area}:{column}"]
                )
            lines.append([f"{q}:{area}:{column}" for q in quarters] + [f"2026:{area}:{column}"])
    possible = _solutions(lines, known, unknown)
    for key in hidden:
        assert len(possible[key]) > 1, (key, possible[key])


def test_periods_parse_and_bad_ones_are_refused() -> None:
    assert fr.parse_period("2026-q3") == fr.Period(
        "2026-Q3", "quarter", date(2026, 7, 1), date(2026, 9, 30)
    )
    assert fr.parse_period("2026-02").end == date(2026, 2, 28)
    assert fr.parse_period("2026").end == date(2026, 12, 31)
    for bad in ("2026-Q5", "2026-13", "26", "", "2026-07-01", "drop table"):
        with pytest.raises(fr.BadPeriod):
            fr.parse_period(bad)


def test_waits_give_the_median_and_90th_percentile_bucket(sqlite_engine: Engine) -> None:
    for minutes in (10, 20, 25, 50, 50, 50, 100, 100, 300, 3000):
        with sqlite_engine.db.session() as session:
            figures.count(
                session,
                "wait_first_attempt",
                WEDNESDAY,
                area="southend",
                minutes=minutes,
                urgency="urgent",
            )
            session.commit()
    with sqlite_engine.db.session() as session:
        waits = fr.build(session, Q3, "southend").waits
        session.commit()
    urgent = next(w for w in waits if w.event == "wait_first_attempt" and w.urgency == "urgent")
    assert (urgent.count.value, urgent.median, urgent.p90) == (10, "m60", "m480")
    standard = next(w for w in waits if w.event == "wait_first_attempt" and w.urgency == "standard")
    assert standard.median is None  # nothing timed: not shown


# ----- the command line ---------------------------------------------------------------


def test_the_command_prints_csv_and_json(
    sqlite_engine: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import cli
    from bot.dashboard import figures_cli

    seed(sqlite_engine, "quick_exit", "", 3, channel="telegram")
    seed(sqlite_engine, "quick_exit", "", 40, channel="sms")
    monkeypatch.setattr(cli, "get_settings", lambda: sqlite_engine.settings)
    assert figures_cli.run(sqlite_engine.settings, "2026-Q3", "all", "json") == 0
    data = json.loads(capsys.readouterr().out)
    exits = next(t for t in data["tables"] if t["id"] == "safety_exits")
    assert exits["rows"] == {"sms": "withheld", "telegram": "small", "whatsapp": 0, "webchat": 0}
    assert exits["total"] == 43
    assert cli.main(["figures", "--period", "2026-Q3", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert ["2026-Q3", "All areas", "Quick exits, by channel", "Telegram", "fewer than 5"] in rows
    assert ["2026-Q3", "All areas", "Quick exits, by channel", "SMS", "withheld"] in rows
    assert ["2026-Q3", "All areas", "Quick exits, by channel", "Total", "43"] in rows
    assert cli.main(["figures", "--period", "2026-Q7"]) == 2
    assert "quarter (2026-Q3)" in capsys.readouterr().err


def test_staff_add_makes_a_commissioner(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import io

    from bot import cli
    from bot.dashboard import admin, auth

    monkeypatch.setattr(cli, "get_settings", lambda: sqlite_engine.settings)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert cli.main(["staff", "add", "carol", "--role", "commissioner"]) == 0
    with sqlite_engine.db.session() as session:
        user = auth.find_user(session, "carol")
        session.commit()
    assert user is not None and user.role == "commissioner"
    assert admin is not None
