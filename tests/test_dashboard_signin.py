"""Signing in and out: CSRF on every form, the session cookie, idle sessions,
throttled passwords, disabled accounts and the `frontdoor users` command.

Through the real app (FastAPI TestClient) on a real, migrated database, once
on SQLite and once on PostgreSQL; time is moved with the dashboard's clock,
never by sleeping. Routes: bot/dashboard/routes/signin.py.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.content.model import Content
from bot.engine import Engine
from bot.storage.models import StaffSession
from bot.worker import purge
from tests.conftest import clean, make_settings
from tests.dashboard_support import (
    PASSWORD,
    Clock,
    Dash,
    app_with_clock,
    build,
    make_request,
    quick_passwords,
    sessions_of,
    sign_in,
    signed_in,
)

# ----- sessions, CSRF, cookies ---------------------------------------------------------------


def test_post_without_the_sessions_csrf_token_is_refused(dash: Dash) -> None:
    reference = make_request(dash.engine, dash.clock.now)
    client, csrf = signed_in(dash.app, "alice")
    url = f"/dashboard/requests/{reference}/claim"
    for data in ({}, {"csrf_token": "not-the-token"}):
        response = client.post(url, data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "This form had expired" in response.text
    assert dash.request(reference).status == "open"
    other, _ = signed_in(dash.app, "bob")
    assert other.post(url, data={"csrf_token": csrf}).status_code == 403, "tokens are per session"
    response = client.post(url, headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert dash.request(reference).status == "claimed"


def test_login_form_needs_its_own_csrf_token(dash: Dash) -> None:
    client = TestClient(dash.app)
    client.get("/dashboard/login")
    response = client.post("/dashboard/login", data={"name": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert "This form had expired" in response.text
    assert sessions_of(dash) == 0


def test_session_cookie_is_httponly_strict_and_secure_over_https(dash: Dash) -> None:
    plain = sign_in(TestClient(dash.app, base_url="http://testserver"), "alice")
    cookie = plain.headers["set-cookie"]
    assert "fd_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie
    secure = sign_in(TestClient(dash.app, base_url="https://testserver"), "alice")
    assert "Secure" in secure.headers["set-cookie"]
    with dash.engine.db.session() as session:
        hashes = [row.token_hash for row in session.execute(select(StaffSession)).scalars()]
        session.commit()
    token = re.search(r"fd_session=([^;]+)", cookie).group(1)
    assert token not in hashes, "only a hash of the token is stored"


def test_idle_sessions_end_after_fifteen_minutes_and_polling_does_not_keep_them(
    dash: Dash,
) -> None:
    client, _ = signed_in(dash.app, "alice")
    dash.clock.advance(minutes=14)
    assert client.get("/dashboard").status_code == 200  # activity
    dash.clock.advance(minutes=10)
    poll = client.get("/dashboard/queue/rows", headers={"HX-Request": "true"})
    assert poll.status_code == 200  # polling still allowed, but it is not activity
    dash.clock.advance(minutes=6)
    response = client.get("/dashboard", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login?expired=true"
    assert (
        "signed out after a time without activity" in client.get(response.headers["location"]).text
    )
    assert [e.user_name for e in dash.audit("session_idle")] == ["alice"]
    poll = client.get("/dashboard/queue/rows", headers={"HX-Request": "true"})
    assert poll.headers["hx-redirect"] == "/dashboard/login"


def test_logout_ends_the_session_on_the_server(dash: Dash) -> None:
    client, csrf = signed_in(dash.app, "alice")
    token = client.cookies.get("fd_session")
    response = client.post("/dashboard/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.headers["location"] == "/dashboard/login?signed_out=true"
    assert "You have signed out." in client.get(response.headers["location"]).text
    stolen = TestClient(dash.app)
    stolen.cookies.set("fd_session", token, path="/dashboard")
    assert stolen.get("/dashboard", follow_redirects=False).status_code == 303
    assert [e.action for e in dash.audit() if e.action in ("login", "logout")] == [
        "login",
        "logout",
    ]


def test_a_disabled_account_cannot_sign_in_and_its_session_ends(dash: Dash) -> None:
    from bot.dashboard import auth

    client, _ = signed_in(dash.app, "alice")
    with dash.engine.db.session() as session:
        assert auth.disable_user(session, "alice", dash.clock.now)
        session.commit()
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert sign_in(TestClient(dash.app), "alice").status_code == 401


# ----- throttling ----------------------------------------------------------------------------


def test_an_account_is_locked_after_repeated_failures_then_unlocks(dash: Dash) -> None:
    client = TestClient(dash.app)
    for _ in range(dash.engine.settings.login_max_failures):
        response = sign_in(client, "alice", "wrong password!")
        assert response.status_code == 401
        assert "That name and password do not match" in response.text
    locked = sign_in(client, "alice")
    assert locked.status_code == 429
    assert "Too many failed sign-ins. Please wait 15 minutes" in locked.text
    # Another account from the same address is not locked by this account's failures.
    assert sign_in(TestClient(dash.app), "bob").status_code == 303
    dash.clock.advance(minutes=dash.engine.settings.login_lockout_minutes + 1)
    assert sign_in(client, "alice").status_code == 303
    assert len(dash.audit("login_locked")) == 1
    assert len(dash.audit("login_failed")) == 5


def test_one_address_is_locked_after_failures_across_accounts(
    db_url: str, tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick_passwords(monkeypatch)
    dash = build(db_url, tmp_path, content, login_max_failures_per_address=4)
    client = TestClient(dash.app)
    for name in ("alice", "bob", "nobody", "someone"):
        assert sign_in(client, name, "wrong password!").status_code == 401
    response = sign_in(client, "sue")
    assert response.status_code == 429, "the address is locked even for a right password"
    dash.engine.db.dispose()


def test_the_worker_forgets_ended_sessions_and_old_sign_in_failures(dash: Dash) -> None:
    from bot.storage.models import LoginThrottle

    sign_in(TestClient(dash.app), "alice", "wrong password!")
    live, _ = signed_in(dash.app, "bob")
    ended, csrf = signed_in(dash.app, "sue")
    ended.post("/dashboard/logout", data={"csrf_token": csrf})
    counts = purge(dash.engine.db, dash.engine.vault, dash.engine.settings, now=dash.clock.now)
    assert counts.sign_ins == 1 and sessions_of(dash) == 1, "only the ended session goes"
    later = dash.clock.now + timedelta(minutes=16)
    counts = purge(dash.engine.db, dash.engine.vault, dash.engine.settings, now=later)
    # bob's idle session, and the throttles of alice and of the address.
    assert counts.sign_ins == 3 and sessions_of(dash) == 0
    with dash.engine.db.session() as session:
        assert list(session.execute(select(LoginThrottle)).scalars()) == []
        session.commit()


# ----- accounts ------------------------------------------------------------------------------


def test_users_command_adds_and_disables_accounts(
    db_url: str,
    tmp_path: Path,
    content: Content,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot import cli
    from bot.dashboard import admin

    quick_passwords(monkeypatch)
    clean(db_url)
    settings = make_settings(tmp_path, db_url)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert cli.main(["users", "add", "Dana", "--role", "supervisor"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["users", "add", "erin", "--role", "handler"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert cli.main(["users", "add", "dana", "--role", "handler"]) == 1, "names are unique"
    engine = Engine(settings=settings, content=content)
    app = app_with_clock(engine, Clock(datetime.now(UTC)))
    client = TestClient(app)
    assert sign_in(client, "dana", "a long enough password").status_code == 303
    with engine.db.session() as session:
        from bot.storage.models import StaffUser

        user = session.execute(select(StaffUser)).scalar_one()
        session.commit()
    assert user.role == "supervisor" and user.password_hash.startswith("$argon2id$")
    assert cli.main(["users", "disable", "dana"]) == 0
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert cli.main(["users", "disable", "nobody"]) == 1
    assert admin.read_password(io.StringIO("from a script\n")) == "from a script"
    engine.db.dispose()
