"""The Figures section through the real app: who may see it, what a commissioner
can never reach, the CSV downloads, calm answers to bad input, and the
handler's equality monitoring form (each question skippable, counts only)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.content.model import Content
from bot.engine import Engine
from bot.storage import figures
from bot.storage.models import AuditEvent, FigureCount
from tests.conftest import clean, make_settings
from tests.dashboard_support import Clock, add_user, app_with_clock, csrf_of, make_request, sign_in

# 1 August 2026, 10:00 UTC: in 2026-Q3.
AUGUST = datetime(2026, 8, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def site(db_url: str, tmp_path: Path, content: Content) -> Iterator[tuple[Engine, Clock]]:
    clean(db_url)
    engine = Engine(settings=make_settings(tmp_path, db_url), content=content)
    add_user(engine, "alice", "handler")
    add_user(engine, "sue", "supervisor")
    add_user(engine, "carol", "commissioner")
    yield engine, Clock(AUGUST)
    engine.db.dispose()


def client_for(engine: Engine, clock: Clock, name: str) -> TestClient:
    client = TestClient(app_with_clock(engine, clock), base_url="http://testserver")
    response = sign_in(client, name)
    assert response.status_code == 303, response.text
    return client


def test_a_commissioner_sees_figures_and_nothing_else(site: tuple[Engine, Clock]) -> None:
    engine, clock = site
    reference = make_request(engine, AUGUST)
    client = TestClient(app_with_clock(engine, clock), base_url="http://testserver")
    landed = sign_in(client, "carol")
    assert landed.headers["location"] == "/dashboard/figures"
    page = client.get("/dashboard/figures?period=2026-Q3")
    assert page.status_code == 200
    assert "Figures: All areas, 2026-Q3" in page.text
    assert reference not in page.text and "Take next" not in page.text
    assert 'href="/dashboard/staff"' not in page.text
    assert 'href="/dashboard/equality"' not in page.text
    csrf = csrf_of(page.text)
    for path in (
        "/dashboard",
        "/dashboard/queue/rows",
        f"/dashboard/requests/{reference}",
        f"/dashboard/requests/{reference}/live",
        f"/dashboard/requests/{reference}/audit",
        "/dashboard/audit.csv",
        "/dashboard/staff",
        "/dashboard/equality",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 403, path
        assert reference not in response.text and "+44" not in response.text
    for path in (
        "/dashboard/take-next",
        f"/dashboard/requests/{reference}/claim",
        f"/dashboard/requests/{reference}/number",
        f"/dashboard/requests/{reference}/attempts",
        "/dashboard/equality",
    ):
        response = client.post(path, data={"csrf_token": csrf}, follow_redirects=False)
        assert response.status_code == 403, path
        assert "7700900123" not in response.text
    with engine.db.session() as session:
        viewed = session.execute(
            select(AuditEvent.action).where(AuditEvent.user_name == "carol")
        ).scalars()
        assert "number_view" not in set(viewed)
        session.commit()
    out = client.post(
        "/dashboard/figures/sign-out", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert out.status_code == 303
    assert client.get("/dashboard/figures", follow_redirects=False).status_code == 303


def test_supervisors_see_figures_handlers_do_not(site: tuple[Engine, Clock]) -> None:
    engine, clock = site
    assert client_for(engine, clock, "sue").get("/dashboard/figures").status_code == 200
    handler = client_for(engine, clock, "alice")
    assert handler.get("/dashboard/figures").status_code == 403
    assert handler.get("/dashboard/figures.csv").status_code == 403
    anonymous = TestClient(app_with_clock(engine, clock))
    assert anonymous.get("/dashboard/figures", follow_redirects=False).status_code == 303


def test_every_table_downloads_as_csv_with_the_same_suppression(site: tuple[Engine, Clock]) -> None:
    engine, clock = site
    with engine.db.session() as session:
        figures.count(session, "quick_exit", AUGUST, n=3, channel="telegram")
        figures.count(session, "quick_exit", AUGUST, n=40, channel="sms")
        session.commit()
    client = client_for(engine, clock, "carol")
    page = client.get("/dashboard/figures?period=2026-08")
    assert page.status_code == 200
    assert "fewer than 5" in page.text and "withheld" in page.text
    assert ">43<" in page.text
    one = client.get("/dashboard/figures.csv?period=2026-08&table=safety_exits")
    assert one.status_code == 200 and one.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(one.text)))
    assert rows[0] == ["period", "area", "table", "row", "count"]
    assert ["2026-08", "All areas", "Quick exits, by channel", "Telegram", "fewer than 5"] in rows
    assert ["2026-08", "All areas", "Quick exits, by channel", "SMS", "withheld"] in rows
    assert ["2026-08", "All areas", "Quick exits, by channel", "Total", "43"] in rows
    every = client.get("/dashboard/figures.csv?period=2026-08")
    titles = {row[2] for row in csv.reader(io.StringIO(every.text))}
    assert "Call-backs requested, by district" in titles and "Quick exits, by channel" in titles
    assert "3" not in [row[4] for row in csv.reader(io.StringIO(every.text))]


@pytest.mark.parametrize(
    "query",
    ["period=2026-Q9", "period=yesterday", "area=narnia", "period=2026-Q3&table=nope"],
)
def test_bad_choices_get_a_calm_sentence(site: tuple[Engine, Clock], query: str) -> None:
    engine, clock = site
    client = client_for(engine, clock, "sue")
    for path in ("/dashboard/figures", "/dashboard/figures.csv"):
        if "table" in query and path == "/dashboard/figures":
            continue
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400
        assert "not one we know" in response.text and "Traceback" not in response.text


def test_area_view_shows_that_area_only(site: tuple[Engine, Clock]) -> None:
    engine, clock = site
    with engine.db.session() as session:
        figures.count(
            session,
            "callback_requested",
            AUGUST,
            area="thurrock",
            n=12,
            district="thurrock",
            channel="sms",
            urgency="standard",
        )
        figures.count(
            session,
            "callback_requested",
            AUGUST,
            area="southend",
            n=30,
            district="southend",
            channel="sms",
            urgency="standard",
        )
        session.commit()
    client = client_for(engine, clock, "carol")
    page = client.get("/dashboard/figures?period=2026&area=thurrock")
    assert page.status_code == 200 and "Figures: Thurrock, 2026" in page.text
    assert "counted before anyone says where they live" in page.text
    assert ">12<" in page.text and ">30<" not in page.text


def test_equality_answers_are_counted_and_each_may_be_skipped(site: tuple[Engine, Clock]) -> None:
    engine, clock = site
    client = client_for(engine, clock, "alice")
    form = client.get("/dashboard/equality")
    assert (
        form.status_code == 200
        and "Black, Black British, Caribbean or African: African" in form.text
    )
    csrf = csrf_of(form.text)
    done = client.post(
        "/dashboard/equality",
        data={
            "csrf_token": csrf,
            "gender": "man",
            "ethnic_group": "black_african",
            "harmed_by": "ex_partner",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("done=saved")
    skipped = client.post("/dashboard/equality", data={"csrf_token": csrf}, follow_redirects=False)
    assert skipped.headers["location"].endswith("done=skipped")
    bad = client.post("/dashboard/equality", data={"csrf_token": csrf, "gender": "Sam Smith"})
    assert bad.status_code == 400 and "choose an answer from the list" in bad.text
    with engine.db.session() as session:
        rows = {
            (r.dimension, r.value): r.count
            for r in session.execute(
                select(FigureCount).where(FigureCount.event == "equality")
            ).scalars()
        }
        session.commit()
    assert rows == {
        ("", ""): 1,
        ("gender", "man"): 1,
        ("ethnic_group", "black_african"): 1,
        ("harmed_by", "ex_partner"): 1,
    }
    assert all(r[0] != date(2000, 1, 1) for r in rows)


def test_a_reached_call_offers_the_optional_equality_form_unlinked_to_the_request(
    site: tuple[Engine, Clock],
) -> None:
    """After "reached" the request page offers the monitoring, calmly and optionally;
    the link carries no reference, and what is counted holds none."""
    engine, clock = site
    reference = make_request(engine, AUGUST)
    client = client_for(engine, clock, "alice")

    def record(kind: str) -> str:
        page = client.get(f"/dashboard/requests/{reference}")
        done = client.post(
            f"/dashboard/requests/{reference}/{'attempts' if kind else 'claim'}",
            data={"kind": kind, "csrf_token": csrf_of(page.text)},
        )
        assert done.status_code == 200, done.text
        return done.text

    record("")  # claim it
    not_reached = record("no_answer")
    assert "Recorded:" in not_reached and "equality-prompt" not in not_reached
    reached = record("reached")
    prompt = reached[reached.index('id="equality-prompt"') :].split("</div>")[0]
    assert "Optional" in prompt and "can be skipped" in prompt
    link = re.search(r'href="([^"]*)"', prompt)
    assert link is not None and link.group(1) == "/dashboard/equality"
    assert reference not in prompt
    form = client.get(link.group(1))
    assert form.status_code == 200 and reference not in form.text
    saved = client.post(
        "/dashboard/equality",
        data={"csrf_token": csrf_of(form.text), "age_band": "age_25_34"},
        headers={"referer": f"http://testserver/dashboard/requests/{reference}"},
        follow_redirects=False,
    )
    assert saved.status_code == 303 and reference not in saved.headers["location"]
    with engine.db.session() as session:
        stored = [
            (r.event, r.area, r.dimension, r.value)
            for r in session.execute(select(FigureCount)).scalars()
        ]
        session.commit()
    assert ("equality", "", "age_band", "age_25_34") in stored
    assert all(reference.lower() not in "".join(row).lower() for row in stored)
