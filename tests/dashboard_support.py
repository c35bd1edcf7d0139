"""Shared helpers for the dashboard tests: staff accounts, requests made through the
bot's own storage path, a movable clock, a signed-in TestClient, and `dash`: the
real app on a clean database, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from bot.content.model import Content
from bot.dashboard import audit, auth
from bot.engine import Engine
from bot.storage.models import AuditEvent, CallAttempt, CallbackRequest, Outbox, StaffSession
from bot.storage.requests import RequestStore
from bot.web.app import create_app
from tests.conftest import clean, make_settings

PASSWORD = "correct horse battery"
# A Tuesday, 10:00 in London (GMT in November).
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

SAFE_ANSWERS: dict[str, Any] = {
    "phone": "+447700900123",
    "name": "Sam",
    "code_word": "bluebell",
    "asap": False,
    "windows": [
        {"day": "tue", "start": "09:00", "end": "12:00"},
        {"day": "thu", "start": "09:00", "end": "12:00"},
    ],
    "voicemail": False,
    "text_first": False,
    "withheld": True,
    "if_someone_else": "wrong_number",
    "language": "pl",
    "interpreter": True,
    "handler_gender": "woman",
    "area": "southend",
    "note": "Best after the school run",
}


class Clock:
    """The dashboard's time, moved by tests instead of sleeping."""

    def __init__(self, now: datetime = TUESDAY_10) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def add_user(engine: Engine, name: str, role: str, password: str = PASSWORD) -> None:
    with engine.db.session() as session:
        auth.add_user(session, name, role, password, datetime.now(UTC))
        session.commit()


def bot_store(engine: Engine, session: Session, person_key: str, now: datetime) -> RequestStore:
    """The RequestStore the bot opens for a person texting by SMS: one place that
    follows its signature for every test that goes through the bot's storage path."""
    return RequestStore(
        session,
        engine.vault,
        person_key,
        "sms",
        now,
        engine.settings.retention_days,
        engine.services.reference_prefix,
        engine.services.teams,
    )


def make_request(
    engine: Engine,
    now: datetime,
    priority: int = 0,
    route: str = "me",
    person: str = "person-1",
    flags: list[str] | None = None,
    **answers: Any,
) -> str:
    """A confirmed request, made through the same RequestStore the bot uses."""
    with engine.db.session() as session:
        store = bot_store(engine, session, engine.vault.person_key("sms", person), now)
        reference = store.create(route, {**SAFE_ANSWERS, **answers}, priority, flags)
        session.commit()
    return reference


def app_with_clock(engine: Engine, clock: Callable[[], datetime]) -> FastAPI:
    app = create_app(engine)
    app.state.dashboard_clock = clock
    return app


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> Any:
    page = client.get("/dashboard/login")
    return client.post(
        "/dashboard/login",
        data={"name": name, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


def signed_in(app: FastAPI, name: str) -> tuple[TestClient, str]:
    """A client signed in as `name`, and its session's CSRF token."""
    client = TestClient(app, base_url="http://testserver")
    response = sign_in(client, name)
    assert response.status_code == 303, response.text
    queue = client.get("/dashboard")
    assert queue.status_code == 200
    return client, csrf_of(queue.text)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The real app under uvicorn in a background thread, on a free port."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        threading.Event().wait(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# ----- the dashboard on a clean database -------------------------------------------


@dataclass
class Dash:
    engine: Engine
    app: FastAPI
    clock: Clock

    def request(self, reference: str) -> CallbackRequest:
        with self.engine.db.session() as session:
            found = session.execute(
                select(CallbackRequest).where(CallbackRequest.reference == reference)
            ).scalar_one()
            session.commit()
        return found

    def audit(self, action: str | None = None) -> list[AuditEvent]:
        with self.engine.db.session() as session:
            rows = audit.events(session)
            session.commit()
        return [r for r in rows if action is None or r.action == action]


def build(url: str, tmp_path: Path, content: Content, **overrides: object) -> Dash:
    """The app on a clean database with handlers alice and bob and supervisor sue."""
    clean(url)
    engine = Engine(settings=make_settings(tmp_path, url, **overrides), content=content)
    clock = Clock()
    add_user(engine, "alice", "handler")
    add_user(engine, "bob", "handler")
    add_user(engine, "sue", "supervisor")
    return Dash(engine, app_with_clock(engine, clock), clock)


# argon2id at its lowest costs: the same code path, a fraction of the time. Only the
# dashboard tests use it; the production costs are auth.HASHER's own.
QUICK_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash test passwords cheaply, so every dashboard test can run on both databases."""
    monkeypatch.setattr(auth, "HASHER", QUICK_HASHER)


def dashboard(
    url: str, tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Dash]:
    """For a test module's `dash` fixture (given `db_url`, it runs on both databases):
    the app on a clean database, disposed of afterwards."""
    quick_passwords(monkeypatch)
    built = build(url, tmp_path, content)
    yield built
    built.engine.db.dispose()


def person_store(dash: Dash, person: str, session: Session) -> RequestStore:
    return bot_store(
        dash.engine, session, dash.engine.vault.person_key("sms", person), dash.clock.now
    )


def claimed(dash: Dash, name: str = "alice", **answers: object) -> tuple[TestClient, str, str]:
    """A new request, claimed by `name`: their client, CSRF token and the reference."""
    reference = make_request(dash.engine, dash.clock.now, **answers)
    client, csrf = signed_in(dash.app, name)
    response = client.post(f"/dashboard/requests/{reference}/claim", data={"csrf_token": csrf})
    assert "You hold this request." in response.text
    return client, csrf, reference


def attempt(client: TestClient, csrf: str, reference: str, **fields: str) -> Any:
    return client.post(
        f"/dashboard/requests/{reference}/attempts",
        data={"csrf_token": csrf, **fields},
        follow_redirects=False,
    )


def attempt_rows(dash: Dash) -> list[CallAttempt]:
    with dash.engine.db.session() as session:
        rows = list(session.execute(select(CallAttempt).order_by(CallAttempt.id)).scalars())
        session.commit()
    return rows


def outbox_rows(dash: Dash) -> list[Outbox]:
    with dash.engine.db.session() as session:
        rows = list(session.execute(select(Outbox)).scalars())
        session.commit()
    return rows


def sessions_of(dash: Dash) -> int:
    with dash.engine.db.session() as session:
        count = len(list(session.execute(select(StaffSession.id)).scalars()))
        session.commit()
    return count
