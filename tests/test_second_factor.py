"""Two-factor sign-in over HTTP: the code step, reuse, expiry, recovery codes,
enrolment, a supervisor's reset, and the `frontdoor users` commands.

The app runs on a real SQLite database with the dashboard's movable clock, so a
TOTP code is computed for the clock's time, never for the wall clock.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.content.model import Content
from bot.dashboard import admin, auth, second_factor, sessions
from bot.engine import Engine
from bot.settings import Settings
from bot.storage import binding
from bot.storage.models import AuditEvent, StaffPending, StaffRecoveryCode, StaffUser
from tests.conftest import clean, make_settings
from tests.dashboard_support import (
    PASSWORD,
    TUESDAY_10,
    Clock,
    add_user,
    app_with_clock,
    csrf_of,
    sign_in,
)


@dataclass
class Site:
    engine: Engine
    app: FastAPI
    clock: Clock
    secret: str
    codes: list[str]

    def code(self, seconds: float = 0) -> str:
        return pyotp.TOTP(self.secret).at(self.clock.now + timedelta(seconds=seconds))

    def audit(self, action: str) -> list[AuditEvent]:
        with self.engine.db.session() as session:
            rows = list(
                session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars()
            )
            session.commit()
        return rows

    def user(self, name: str) -> StaffUser:
        with self.engine.db.session() as session:
            found = auth.find_user(session, name)
            session.commit()
        assert found is not None
        return found


def enrol(engine: Engine, name: str) -> second_factor.Enrolment:
    with engine.db.session() as session:
        user = auth.find_user(session, name)
        enrolment = second_factor.enrol(session, engine.vault, user)
        session.commit()
    return enrolment


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path, content: Content) -> Iterator[Site]:
    clean(sqlite_url)
    engine = Engine(settings=make_settings(tmp_path, sqlite_url), content=content)
    for name, role in (("alice", "handler"), ("bob", "handler"), ("sue", "supervisor")):
        add_user(engine, name, role)
    enrolled = enrol(engine, "alice")
    enrol(engine, "sue")
    clock = Clock()
    yield Site(engine, app_with_clock(engine, clock), clock, enrolled.secret, enrolled.codes)
    engine.db.dispose()


def password_step(client: TestClient, name: str = "alice") -> str:
    """Give the password; the browser is sent to the code step, not signed in."""
    response = sign_in(client, name)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/dashboard/login/code"
    assert sessions.COOKIE not in response.cookies
    return csrf_of(client.get("/dashboard/login/code").text)


def give_code(client: TestClient, csrf: str, code: str):  # noqa: ANN201
    return client.post(
        "/dashboard/login/code",
        data={"code": code, "csrf_token": csrf},
        follow_redirects=False,
    )


def supervisor_client(site: Site) -> tuple[TestClient, str]:
    client = TestClient(site.app)
    csrf = password_step(client, "sue")
    sue = pyotp.TOTP(second_factor.secret_of(site.engine.vault, site.user("sue")))
    assert give_code(client, csrf, sue.at(site.clock.now)).status_code == 303
    page = client.get("/dashboard/staff")
    assert page.status_code == 200
    return client, csrf_of(page.text)


def test_an_enrolled_account_needs_its_code_after_the_password(site: Site) -> None:
    client = TestClient(site.app)
    csrf = password_step(client)
    half = client.get("/dashboard", follow_redirects=False)
    assert half.status_code == 303, "a right password alone is not a session"
    assert half.headers["location"].startswith("/dashboard/login")
    response = give_code(client, csrf, site.code())
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200
    assert len(site.audit("login")) == 1


def test_a_wrong_code_is_refused_and_audited(site: Site) -> None:
    client = TestClient(site.app)
    csrf = password_step(client)
    wrong = "000000" if site.code() != "000000" else "111111"
    response = give_code(client, csrf, wrong)
    assert response.status_code == 401
    assert "That code is not right" in response.text
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert len(site.audit("second_factor_failed")) == 1
    assert site.audit("login") == []


def test_a_code_is_never_taken_twice(site: Site) -> None:
    first = TestClient(site.app)
    code = site.code()
    assert give_code(first, password_step(first), code).status_code == 303
    second = TestClient(site.app)
    csrf = password_step(second)
    site.clock.advance(seconds=10)  # still inside the same 30-second window
    again = give_code(second, csrf, code)
    assert again.status_code == 401, "a code seen over a shoulder cannot be used again"
    # The next window's code works.
    site.clock.advance(seconds=30)
    assert give_code(second, csrf_of(again.text), site.code()).status_code == 303


def test_an_older_code_is_refused_after_a_newer_one(site: Site) -> None:
    old = site.code(-30)  # inside the drift allowed, but older than the one used
    client = TestClient(site.app)
    assert give_code(client, password_step(client), site.code()).status_code == 303
    other = TestClient(site.app)
    assert give_code(other, password_step(other), old).status_code == 401


def test_a_half_sign_in_expires(site: Site) -> None:
    client = TestClient(site.app)
    csrf = password_step(client)
    site.clock.advance(minutes=sessions.PENDING_MINUTES, seconds=1)
    response = give_code(client, csrf, site.code())
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login?lapsed=true"
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    page = client.get("/dashboard/login?lapsed=true")
    assert "took too long" in page.text


def test_a_half_sign_in_belongs_to_its_browser(site: Site) -> None:
    client = TestClient(site.app)
    password_step(client)
    stranger = TestClient(site.app)
    page = stranger.get("/dashboard/login")
    response = give_code(stranger, csrf_of(page.text), site.code())
    assert response.headers["location"] == "/dashboard/login?lapsed=true"


def test_too_many_wrong_codes_end_the_half_sign_in(site: Site) -> None:
    client = TestClient(site.app)
    csrf = password_step(client)
    wrong = "000000" if site.code() != "000000" else "111111"
    for _ in range(sessions.PENDING_TRIES):
        response = give_code(client, csrf, wrong)
        assert response.status_code == 401
        csrf = csrf_of(response.text)
    response = give_code(client, csrf, site.code())
    assert response.headers["location"] == "/dashboard/login?lapsed=true"


def test_a_recovery_code_works_once(site: Site) -> None:
    code = site.codes[3]
    client = TestClient(site.app)
    assert give_code(client, password_step(client), code.upper()).status_code == 303
    assert len(site.audit("recovery_code_used")) == 1
    again = TestClient(site.app)
    assert give_code(again, password_step(again), code).status_code == 401
    with site.engine.db.session() as session:
        left = second_factor.recovery_left(session, site.user("alice"))
        session.commit()
    assert left == 9


def test_recovery_codes_and_secrets_are_not_kept_in_the_clear(site: Site) -> None:
    user = site.user("alice")
    assert site.secret.encode() not in user.totp_enc
    with site.engine.db.session() as session:
        hashes = [r.code_hash for r in session.execute(select(StaffRecoveryCode)).scalars()]
        session.commit()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(code.replace("-", "") in h for code in site.codes for h in hashes)
    with pytest.raises(ValueError):  # sealed to alice's row: it does not open as sue's
        site.engine.vault.open(user.totp_enc, binding.staff_totp(site.user("sue").id))


def test_in_development_an_account_never_enrolled_signs_in_with_its_password(site: Site) -> None:
    response = sign_in(TestClient(site.app), "bob")
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"


def test_in_production_an_account_without_a_factor_must_enrol(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite://", frontdoor_env="production")
    never = StaffUser(name="x", role="handler", password_hash="-", created_at=datetime.now(UTC))
    assert second_factor.must_enrol(settings, never)
    assert not second_factor.must_enrol(make_settings(tmp_path, "sqlite://"), never)
    never.needs_enrolment = True  # after a supervisor's reset, in development too
    assert second_factor.must_enrol(make_settings(tmp_path, "sqlite://"), never)


def test_in_production_an_account_without_a_factor_enrols_at_sign_in(
    sqlite_url: str, tmp_path: Path, content: Content
) -> None:
    clean(sqlite_url)
    settings = Settings(
        var_dir=tmp_path,
        database_url=sqlite_url,
        frontdoor_secret=secrets.token_urlsafe(48),
        frontdoor_env="production",
        public_base_url="https://frontdoor.example",
        simulator=False,
    )
    engine = Engine(settings=settings, content=content)
    add_user(engine, "bob", "handler")
    client = TestClient(app_with_clock(engine, Clock()), base_url="https://frontdoor.example")
    try:
        response = sign_in(client, "bob")
        assert response.headers["location"] == "/dashboard/login/enrol"
        assert client.get("/dashboard", follow_redirects=False).status_code == 303
        page = client.get("/dashboard/login/enrol")
        key = page.text.split('<code class="secret">')[1].split("<")[0]
        done = client.post(
            "/dashboard/login/enrol",
            data={"code": pyotp.TOTP(key).at(TUESDAY_10), "csrf_token": csrf_of(page.text)},
            follow_redirects=False,
        )
        assert done.status_code == 200 and "Your recovery codes" in done.text
        assert client.get("/dashboard").status_code == 200
    finally:
        engine.db.dispose()


def test_a_supervisor_resets_a_colleague_who_then_enrols_again(site: Site) -> None:
    alice = TestClient(site.app)
    assert give_code(alice, password_step(alice), site.code()).status_code == 303
    sue, csrf = supervisor_client(site)
    response = sue.post(
        "/dashboard/staff/alice/reset-second-factor",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "was reset" in sue.get(response.headers["location"]).text
    events = site.audit("second_factor_reset")
    assert [(e.user_name, e.detail) for e in events] == [("sue", "alice")]
    assert alice.get("/dashboard", follow_redirects=False).status_code == 303, "sessions ended"
    # The old key and recovery codes no longer work; alice enrols a new key.
    again = TestClient(site.app)
    response = sign_in(again, "alice")
    assert response.headers["location"] == "/dashboard/login/enrol"
    page = again.get("/dashboard/login/enrol")
    assert "<svg" in page.text
    with site.engine.db.session() as session:
        row = session.execute(select(StaffPending)).scalar_one()
        new = second_factor.pending_secret(site.engine.vault, row)
        session.commit()
    assert new != site.secret
    wrong = again.post(
        "/dashboard/login/enrol",
        data={"code": site.code(), "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert wrong.status_code == 401, "the old key's code does not finish enrolment"
    done = again.post(
        "/dashboard/login/enrol",
        data={"code": pyotp.TOTP(new).at(site.clock.now), "csrf_token": csrf_of(wrong.text)},
        follow_redirects=False,
    )
    assert done.status_code == 200
    assert done.text.count("<li><code>") == second_factor.RECOVERY_CODES
    assert again.get("/dashboard").status_code == 200
    assert len(site.audit("second_factor_enrolled")) == 1
    assert second_factor.enrolled(site.user("alice"))


def test_only_a_supervisor_resets_and_never_their_own(site: Site) -> None:
    bob = TestClient(site.app)
    assert sign_in(bob, "bob").status_code == 303
    csrf = csrf_of(bob.get("/dashboard").text)
    refused = bob.post("/dashboard/staff/alice/reset-second-factor", data={"csrf_token": csrf})
    assert refused.status_code == 403
    assert bob.get("/dashboard/staff").status_code == 403
    sue, csrf = supervisor_client(site)
    own = sue.post("/dashboard/staff/sue/reset-second-factor", data={"csrf_token": csrf})
    assert own.status_code == 403
    assert second_factor.enrolled(site.user("alice")) and second_factor.enrolled(site.user("sue"))
    assert site.audit("second_factor_reset") == []


# ----- the command line ---------------------------------------------------------------


@pytest.fixture
def cli_settings(sqlite_url: str, tmp_path: Path) -> Settings:
    clean(sqlite_url)
    return make_settings(tmp_path, sqlite_url)


def test_users_add_enrols_and_prints_key_qr_and_recovery_codes(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert admin.add(cli_settings, "Dana", "handler", io.StringIO(PASSWORD + "\n")) == 0
    out = capsys.readouterr().out
    assert "Added dana as a handler." in out
    assert "\u2580" in out or "\u2584" in out or "\u2588" in out, "a QR code in the terminal"
    key = out.split("set-up key: ")[1].split()[0]
    codes = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert len(key) >= 16 and pyotp.TOTP(key).now().isdigit()


def test_users_admin_commands(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import cli

    monkeypatch.setattr(cli, "get_settings", lambda: cli_settings)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["users", "add", "dana", "--role", "handler"]) == 0
    first_key = capsys.readouterr().out.split("set-up key: ")[1].split()[0]
    assert cli.main(["users", "reset-2fa", "dana"]) == 0
    second_key = capsys.readouterr().out.split("set-up key: ")[1].split()[0]
    assert first_key != second_key
    assert cli.main(["users", "disable", "dana"]) == 0
    assert cli.main(["users", "list"]) == 0
    assert "disabled" in capsys.readouterr().out
    assert cli.main(["users", "enable", "dana"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a new long password\n"))
    assert cli.main(["users", "reset-password", "dana"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["users", "reset-password", "dana"]) == 1
    assert cli.main(["users", "unlock", "dana"]) == 0
    assert cli.main(["users", "unlock", "nobody"]) == 1
    assert cli.main(["users", "reset-2fa", "nobody"]) == 1
    capsys.readouterr()
    assert cli.main(["users", "list"]) == 0
    listed = capsys.readouterr().out.split()
    assert listed == ["dana", "handler", "enabled", "2fa"]
    from bot.storage.db import Database

    db = Database(cli_settings.sqlalchemy_url)
    with db.session() as session:
        actions = [e.action for e in session.execute(select(AuditEvent)).scalars()]
        user = auth.find_user(session, "dana")
        assert auth.HASHER.verify(user.password_hash, "a new long password")
        session.commit()
    db.dispose()
    for action in ("second_factor_reset", "account_enabled", "password_reset", "account_unlocked"):
        assert action in actions
