"""Claiming on PostgreSQL under real concurrency: separate connections, real threads.

Exactly one handler may get a request however many try at once; this is the
guarantee that two handlers never call the same person.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from bot.content.model import Content
from bot.dashboard import claims
from bot.dashboard import windows as win
from bot.engine import Engine
from bot.storage.db import Database
from bot.storage.models import AuditEvent, CallbackRequest, StaffUser
from tests.conftest import clean, make_settings
from tests.dashboard_support import (
    PASSWORD,
    Clock,
    add_user,
    app_with_clock,
    csrf_of,
    make_request,
    served,
)

HANDLERS = 6


@pytest.fixture
def pg_engine(postgres_url: str, tmp_path: Path, content: Content) -> Iterator[Engine]:
    clean(postgres_url)
    engine = Engine(settings=make_settings(tmp_path, postgres_url), content=content)
    for index in range(HANDLERS):
        add_user(engine, f"handler{index}", "handler")
    yield engine
    engine.db.dispose()


def users(engine: Engine) -> list[StaffUser]:
    with engine.db.session() as session:
        found = list(session.execute(select(StaffUser).order_by(StaffUser.id)).scalars())
        session.commit()
    return found


def run_together(count: int, work) -> list:  # noqa: ANN001
    """Run `work(index)` in `count` threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_concurrent_claims_give_each_request_to_exactly_one_handler(
    pg_engine: Engine, postgres_url: str
) -> None:
    clock = Clock()
    staff = users(pg_engine)
    references = [make_request(pg_engine, clock.now, person=f"p{i}") for i in range(5)]
    # Each thread has its own engine, so its own connection and transaction.
    databases = [Database(postgres_url) for _ in staff]
    try:
        for reference in references:
            with pg_engine.db.session() as session:
                request_id = session.execute(
                    select(CallbackRequest.id).where(CallbackRequest.reference == reference)
                ).scalar_one()
                session.commit()

            def claim(index: int, request_id: int = request_id) -> bool:
                with databases[index].session() as session:
                    got = claims.claim(session, request_id, staff[index], clock.now)
                    session.commit()
                return got

            results = run_together(len(staff), claim)
            assert results.count(True) == 1, results
            with pg_engine.db.session() as session:
                row = session.get(CallbackRequest, request_id)
                winner = staff[results.index(True)]
                assert row.status == "claimed" and row.claimed_by == winner.id
                actions = [
                    e.action
                    for e in session.execute(
                        select(AuditEvent).where(AuditEvent.reference == reference)
                    ).scalars()
                ]
                session.commit()
            assert sorted(actions) == ["claim"] + ["claim_lost"] * (len(staff) - 1)
    finally:
        for database in databases:
            database.dispose()


def test_concurrent_take_next_never_hands_one_request_to_two_handlers(
    pg_engine: Engine, postgres_url: str, content: Content
) -> None:
    clock = Clock()
    staff = users(pg_engine)
    references = {make_request(pg_engine, clock.now, person=f"p{i}") for i in range(2)}
    hours = win.service_hours(content.data["service"])
    databases = [Database(postgres_url) for _ in staff]
    try:

        def take(index: int) -> str | None:
            with databases[index].session() as session:
                got = claims.take_next(session, staff[index], hours, clock.now, 3)
                session.commit()
            return got

        results = run_together(len(staff), take)
    finally:
        for database in databases:
            database.dispose()
    taken = [r for r in results if r is not None]
    assert sorted(taken) == sorted(references), results


def test_two_handlers_clicking_claim_at_once_over_http(pg_engine: Engine) -> None:
    """The whole path: two signed-in browsers' POSTs racing through the real server."""
    clock = Clock()
    app = app_with_clock(pg_engine, clock)
    reference = make_request(pg_engine, clock.now - timedelta(minutes=3))
    with served(app) as base:
        clients = [httpx.Client(base_url=base) for _ in range(2)]
        tokens = []
        for index, client in enumerate(clients):
            page = client.get("/dashboard/login")
            client.post(
                "/dashboard/login",
                data={
                    "name": f"handler{index}",
                    "password": PASSWORD,
                    "csrf_token": csrf_of(page.text),
                },
            )
            tokens.append(csrf_of(client.get("/dashboard").text))

        def claim(index: int) -> httpx.Response:
            return clients[index].post(
                f"/dashboard/requests/{reference}/claim", data={"csrf_token": tokens[index]}
            )

        responses = run_together(2, claim)
        for client in clients:
            client.close()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [303, 409], statuses
    loser = next(r for r in responses if r.status_code == 409)
    assert "Another handler claimed this request just now." in loser.text
    assert "+447700900123" not in loser.text
