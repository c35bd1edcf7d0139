"""Sign-in throttles: per account and address together, atomic under concurrency,
never a lockout a stranger can aim at a handler, and the proxy address only
from a listed proxy.

The throttle functions run on real SQLite and PostgreSQL; the concurrency test
fires 40 wrong sign-ins from 40 threads, each with its own connection.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.content.model import Content
from bot.dashboard import admin, auth
from bot.engine import Engine
from bot.settings import Settings
from bot.storage.models import LoginThrottle
from bot.web.app import proxy_options
from tests.conftest import clean, make_settings
from tests.dashboard_support import (
    PASSWORD,
    Clock,
    add_user,
    app_with_clock,
    csrf_of,
    free_port,
    sign_in,
)

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def attempt(engine: Engine, name: str, password: str, address: str, now: datetime = NOW) -> str:
    with engine.db.session() as session:
        result = auth.check_login(session, engine.settings, name, password, address, now)
        session.commit()
    return result.reason


@pytest.fixture
def accounts(engine: Engine) -> Engine:
    add_user(engine, "alice", "handler")
    add_user(engine, "bob", "handler")
    return engine


def test_a_stranger_cannot_keep_a_handler_out(accounts: Engine) -> None:
    limit = accounts.settings.login_max_failures
    for _ in range(limit):
        assert attempt(accounts, "alice", "wrong password!", "203.0.113.9") == "bad"
    assert attempt(accounts, "alice", PASSWORD, "203.0.113.9") == "locked"
    # From the office, alice signs in at once: the account itself is never locked.
    assert attempt(accounts, "alice", PASSWORD, "198.51.100.4") == "ok"
    # The refusal lapses after the window.
    later = NOW + timedelta(minutes=accounts.settings.login_lockout_minutes, seconds=1)
    assert attempt(accounts, "alice", PASSWORD, "203.0.113.9", later) == "ok"


def test_a_whole_sign_in_starts_the_count_again(
    sqlite_url: str, tmp_path: Path, content: Content
) -> None:
    clean(sqlite_url)
    engine = Engine(settings=make_settings(tmp_path, sqlite_url), content=content)
    add_user(engine, "bob", "handler")  # never enrolled, development: password only
    client = TestClient(app_with_clock(engine, Clock()))
    try:
        for _ in range(2):
            for _ in range(engine.settings.login_max_failures - 1):
                assert sign_in(client, "bob", "wrong password!").status_code == 401
            assert sign_in(client, "bob").status_code == 303
    finally:
        engine.db.dispose()


def test_an_office_behind_one_address_is_never_refused_for_signing_in(accounts: Engine) -> None:
    """Each sign-in is a mistyped password, a right one and a code; many of them
    from one address stay well inside the per-address limit."""
    office = "198.51.100.4"
    for n in range(accounts.settings.login_max_failures_per_address + 5):
        name = ("alice", "bob")[n % 2]
        assert attempt(accounts, name, "wrong password!", office) == "bad"
        assert attempt(accounts, name, PASSWORD, office) == "ok"
        with accounts.db.session() as session:
            assert auth.reserve(session, accounts.settings, name, office, NOW)  # the code
            auth.succeeded(session, name, office)
            session.commit()
    with accounts.db.session() as session:
        rows = list(session.execute(select(LoginThrottle)).scalars())
        session.commit()
    assert [(r.account, r.attempts) for r in rows] == [(auth.EVERY_ACCOUNT, 0)]


def test_one_address_trying_many_names_is_refused(
    db_url: str, tmp_path: Path, content: Content
) -> None:
    clean(db_url)
    engine = Engine(
        settings=make_settings(tmp_path, db_url, login_max_failures_per_address=6),
        content=content,
    )
    add_user(engine, "alice", "handler")
    try:
        for n in range(6):
            assert attempt(engine, f"name{n}", "wrong password!", "203.0.113.9") == "bad"
        assert attempt(engine, "alice", PASSWORD, "203.0.113.9") == "locked"
        assert attempt(engine, "alice", PASSWORD, "198.51.100.4") == "ok"
    finally:
        engine.db.dispose()


def test_unlock_lifts_every_throttle_on_an_account(
    accounts: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(accounts.settings.login_max_failures):
        attempt(accounts, "alice", "wrong password!", "203.0.113.9")
    assert attempt(accounts, "alice", PASSWORD, "203.0.113.9") == "locked"
    assert admin.unlock(accounts.settings, "Alice") == 0
    assert "Unlocked alice" in capsys.readouterr().out
    assert attempt(accounts, "alice", PASSWORD, "203.0.113.9") == "ok"


def test_concurrent_guesses_are_checked_at_most_the_limit(
    postgres_url: str, tmp_path: Path, content: Content
) -> None:
    """40 wrong passwords at once for one account from one address: the count is
    one atomic upsert, so exactly the limit are checked and the rest refused."""
    clean(postgres_url)
    engine = Engine(settings=make_settings(tmp_path, postgres_url), content=content)
    add_user(engine, "alice", "handler")
    reasons: list[str] = []
    start = threading.Barrier(40)
    lock = threading.Lock()

    def guess() -> None:
        start.wait()
        reason = attempt(engine, "alice", "wrong password!", "203.0.113.9")
        with lock:
            reasons.append(reason)

    threads = [threading.Thread(target=guess) for _ in range(40)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        limit = engine.settings.login_max_failures
        assert len(reasons) == 40
        assert reasons.count("bad") == limit, reasons
        assert reasons.count("locked") == 40 - limit
        with engine.db.session() as session:
            row = session.execute(
                select(LoginThrottle).where(LoginThrottle.account == "alice")
            ).scalar_one()
            session.commit()
        assert row.attempts == 40
    finally:
        engine.db.dispose()


def test_wrong_codes_count_like_wrong_passwords(
    sqlite_url: str, tmp_path: Path, content: Content
) -> None:
    """A stolen password does not buy unlimited code guesses from one address."""
    from bot.dashboard import second_factor

    clean(sqlite_url)
    engine = Engine(
        settings=make_settings(tmp_path, sqlite_url, login_max_failures=3), content=content
    )
    add_user(engine, "alice", "handler")
    with engine.db.session() as session:
        second_factor.enrol(session, engine.vault, auth.find_user(session, "alice"))
        session.commit()
    client = TestClient(app_with_clock(engine, Clock()))
    try:
        for _ in range(2):  # a right password each time, then wrong codes
            assert sign_in(client, "alice").status_code == 303
            page = client.get("/dashboard/login/code")
            response = client.post(
                "/dashboard/login/code",
                data={"code": "000000", "csrf_token": csrf_of(page.text)},
                follow_redirects=False,
            )
            if response.status_code == 429:
                break
            assert response.status_code == 401
        # 3 tries: password, code, password; the next code is refused unchecked.
        assert response.status_code == 429
        assert sign_in(client, "alice").status_code == 429
    finally:
        engine.db.dispose()


# ----- the client address behind a proxy ---------------------------------------------


@pytest.fixture
def proxied(sqlite_url: str, tmp_path: Path, content: Content) -> Iterator[Engine]:
    clean(sqlite_url)
    engine = Engine(settings=make_settings(tmp_path, sqlite_url), content=content)
    add_user(engine, "alice", "handler")
    yield engine
    engine.db.dispose()


def served_with(engine: Engine, settings: Settings) -> tuple[uvicorn.Server, str]:
    port = free_port()
    config = uvicorn.Config(
        app_with_clock(engine, Clock()),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        **proxy_options(settings),
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        threading.Event().wait(0.02)
    return server, f"http://127.0.0.1:{port}"


def addresses_counted(engine: Engine) -> set[str]:
    with engine.db.session() as session:
        found = set(session.execute(select(LoginThrottle.address)).scalars())
        session.commit()
    return found


def wrong_sign_in(base: str, forwarded: str) -> None:
    with httpx.Client(base_url=base) as client:
        page = client.get("/dashboard/login")
        client.post(
            "/dashboard/login",
            data={"name": "alice", "password": "wrong!", "csrf_token": csrf_of(page.text)},
            headers={"X-Forwarded-For": forwarded},
        )


@pytest.mark.parametrize(
    ("allowed", "counted"),
    [("127.0.0.1", "203.0.113.9"), ("10.9.9.9", "127.0.0.1")],
    ids=["listed-proxy", "unlisted-proxy"],
)
def test_the_forwarded_address_counts_only_from_a_listed_proxy(
    proxied: Engine, tmp_path: Path, allowed: str, counted: str
) -> None:
    settings = make_settings(tmp_path, "sqlite://", forwarded_allow_ips=allowed)
    server, base = served_with(proxied, settings)
    try:
        wrong_sign_in(base, "203.0.113.9")
    finally:
        server.should_exit = True
    assert addresses_counted(proxied) == {counted}
