"""Production refuses unsafe settings at start-up; the container and the
Procfile run production; `make run` stays development."""

from __future__ import annotations

import base64
import re
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot import cli
from bot.dashboard import queue as q
from bot.engine import Engine
from bot.production import production_problems, secret_problem
from bot.settings import PROJECT_ROOT, Settings, get_settings
from bot.storage.models import CallbackRequest
from bot.storage.requests import RequestStore
from bot.web.app import simulator_enabled
from tests.conftest import Chat
from tests.dashboard_support import SAFE_ANSWERS, make_request
from tests.test_journeys import make_request as make_request_via_chat

GOOD_SECRET = secrets.token_urlsafe(48)
GOOD_URL = "https://frontdoor.example.org"


def production(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "frontdoor_env": "production",
        "frontdoor_secret": GOOD_SECRET,
        "public_base_url": GOOD_URL,
        "var_dir": tmp_path,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.mark.parametrize(
    "secret",
    [
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(48),
        secrets.token_hex(32),
        base64.b64encode(secrets.token_bytes(32)).decode(),
    ],
    ids=["urlsafe-32", "urlsafe-48", "hex-32", "base64-32"],  # fresh secrets, stable names
)
def test_random_secrets_of_32_bytes_pass(secret: str) -> None:
    assert secret_problem(secret) is None


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "test-secret-not-for-production",
        secrets.token_urlsafe(16),  # 16 bytes of randomness in 22 characters
        secrets.token_hex(16),  # 32 characters but 16 bytes
        "a" * 64,
        "password" * 8,
        "0123456789abcdef" * 4,  # hex of a repeating pattern
        base64.b64encode(b"\x00" * 48).decode(),
    ],
    ids=["empty", "words", "urlsafe-16", "hex-16", "one-letter", "password", "pattern", "zeros"],
)
def test_weak_secrets_are_refused(secret: str) -> None:
    assert secret_problem(secret) is not None


def test_a_safe_production_has_no_problems(tmp_path: Path) -> None:
    assert production_problems(production(tmp_path)) == []


@pytest.mark.parametrize(
    ("overrides", "word"),
    [
        ({"frontdoor_secret": "short"}, "FRONTDOOR_SECRET"),
        ({"frontdoor_secret": ""}, "FRONTDOOR_SECRET"),
        ({"public_base_url": ""}, "PUBLIC_BASE_URL"),
        ({"public_base_url": "http://frontdoor.example.org"}, "PUBLIC_BASE_URL"),
        ({"simulator": True}, "SIMULATOR"),
    ],
)
def test_each_unsafe_setting_is_named(tmp_path: Path, overrides: dict, word: str) -> None:
    [problem] = production_problems(production(tmp_path, **overrides))
    assert word in problem


def test_development_is_never_refused(tmp_path: Path) -> None:
    assert production_problems(Settings(var_dir=tmp_path, public_base_url="")) == []


def test_simulator_on_in_development_off_in_production(tmp_path: Path) -> None:
    assert simulator_enabled(Settings(var_dir=tmp_path))
    assert not simulator_enabled(Settings(var_dir=tmp_path, simulator=False))
    assert not simulator_enabled(production(tmp_path))


@pytest.mark.parametrize("command", [["serve"], ["worker", "--once"]])
def test_serve_and_worker_refuse_to_start(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FRONTDOOR_ENV", "production")
    monkeypatch.setenv("FRONTDOOR_SECRET", "changeme")
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://localhost:8000")
    monkeypatch.setenv("SIMULATOR", "true")
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as stopped:
            cli.main(command)
    finally:
        get_settings.cache_clear()
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert "refused to start in production" in said
    for name in ("FRONTDOOR_SECRET", "PUBLIC_BASE_URL", "SIMULATOR"):
        assert name in said
    assert "changeme" not in said  # the secret itself is never printed
    assert not (tmp_path / "never.db").exists()  # nothing was opened


# ----- how it is deployed -----------------------------------------------------


def test_procfile_runs_production() -> None:
    procfile = (PROJECT_ROOT / "Procfile").read_text()
    for line in filter(None, procfile.splitlines()):
        assert "FRONTDOOR_ENV=production" in line


def test_make_run_stays_development() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    run = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert run and "production" not in run.group(1)


def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", dockerfile, re.M | re.I)
    assert len(stages) >= 2
    assert all(re.match(r"python:3\.1[1-9][\w.-]*-slim", image) for image, _ in stages)
    final = dockerfile[dockerfile.rfind("\nFROM ") :].replace("\\\n", " ")
    users = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^ENV\s+.*FRONTDOOR_ENV=production", final, re.M)
    assert "--require-hashes" in dockerfile
    # No compiler or package manager cache in the final stage.
    for tool in ("build-essential", "gcc", "apt-get install"):
        assert tool not in final


def test_compose_runs_web_worker_and_postgres_in_production() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"web", "worker", "db"} <= set(services)
    assert services["db"]["image"].startswith("postgres")
    for name in ("web", "worker"):
        service = services[name]
        environment = service["environment"]
        assert environment["FRONTDOOR_ENV"] == "production"
        assert environment["DATABASE_URL"].startswith("postgresql://")
        assert "db" in service["depends_on"]
    assert "frontdoor worker" in " ".join(services["worker"]["command"])
    assert "PUBLIC_BASE_URL" in services["web"]["environment"]


def test_dockerignore_keeps_secrets_and_data_out() -> None:
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    for entry in (".env", "var", ".venv", ".git"):
        assert entry in ignored


def test_license_is_mit() -> None:
    text = (PROJECT_ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Front Door contributors" in text


def test_transitions_is_pinned_below_its_next_minor() -> None:
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text()
    assert re.search(r'"transitions>=0\.9\.\d+,<0\.10"', pyproject)


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_locks_pin_every_package_with_hashes(lock: str) -> None:
    text = (PROJECT_ROOT / lock).read_text()
    blocks = re.findall(
        r"^([A-Za-z0-9_.\-]+)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}.*\n)+)", text, re.M
    )
    names = {name.lower().replace("_", "-") for name, _version, _hashes in blocks}
    required = {"fastapi", "transitions", "prometheus-client", "sentry-sdk", "pyotp", "segno"}
    if lock == "requirements-dev.lock":
        required |= {"pytest", "pip-audit", "pip-tools"}
    assert required <= names
    pinned = re.findall(r"^[A-Za-z0-9_.\-]+==", text, re.M)
    assert len(pinned) == len(blocks)  # no package without hashes


# ----- practice requests from the simulator stay out of the real queue -----------


def simulator_request(engine: Engine, priority: int = 0) -> str:
    """A request made the way the simulator makes one (channel "simulator")."""
    now = datetime.now(UTC) - timedelta(minutes=30)
    with engine.db.session() as session:
        store = RequestStore(
            session,
            engine.vault,
            engine.vault.person_key("simulator", "sim-visitor"),
            "simulator",
            now,
            engine.settings.retention_days,
            engine.services.reference_prefix,
            engine.services.teams,
        )
        reference = store.create("me", {**SAFE_ANSWERS, "asap": True}, priority)
        session.commit()
    return reference


def test_simulator_requests_are_practice_only(sqlite_engine: Engine) -> None:
    now = datetime.now(UTC)
    practice = simulator_request(sqlite_engine, priority=9)
    real = make_request(sqlite_engine, now - timedelta(minutes=10), priority=1, asap=True)
    with sqlite_engine.db.session() as session:
        queue = [r.request.reference for r in q.open_rows(session, [], now, 3)]
        practice_view = [
            r.request.reference for r in q.open_rows(session, [], now, 3, q.Filters(practice=True))
        ]
    assert queue == [real]
    assert practice_view == [practice]


def test_a_simulator_conversation_lands_in_the_practice_view(sqlite_engine: Engine) -> None:
    chat = Chat(sqlite_engine, channel="simulator", address="+447700900555")
    reference = make_request_via_chat(chat)
    with sqlite_engine.db.session() as session:
        found = session.execute(
            select(CallbackRequest).where(CallbackRequest.reference == reference)
        ).scalar_one()
        assert found.channel == q.PRACTICE_CHANNEL
        now = datetime.now(UTC)
        assert reference not in [r.request.reference for r in q.open_rows(session, [], now, 3)]


def test_the_app_factory_refuses_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.web.app import create_app

    monkeypatch.setenv("FRONTDOOR_ENV", "production")
    monkeypatch.setenv("FRONTDOOR_SECRET", GOOD_SECRET)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://frontdoor.example.org")
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit):
            create_app()
    finally:
        get_settings.cache_clear()
    assert "PUBLIC_BASE_URL" in capsys.readouterr().err


def test_an_urgent_practice_request_is_never_announced_to_staff(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.notices import notify_staff
    from bot.storage.models import Outbox

    monkeypatch.setattr(sqlite_engine.settings, "telegram_staff_chat_id", "-1001234567890")
    practice = simulator_request(sqlite_engine, priority=9)
    real = make_request(sqlite_engine, datetime.now(UTC), priority=9, person="p-real")
    now = datetime.now(UTC)
    with sqlite_engine.db.session() as session:
        found = {r.reference: r for r in session.execute(select(CallbackRequest)).scalars()}
        settings = sqlite_engine.settings
        assert not notify_staff(session, sqlite_engine.vault, settings, found[practice], now)
        # The control: the same urgency on a real channel is announced.
        queued = notify_staff(session, sqlite_engine.vault, settings, found[real], now)
        session.commit()
        keys = [row.dedupe_key for row in session.execute(select(Outbox)).scalars()]
    assert queued
    assert not any(practice in key for key in keys)


def test_the_dashboard_shows_practice_requests_only_in_the_practice_view(
    sqlite_engine: Engine,
) -> None:
    from tests.dashboard_support import add_user, app_with_clock, signed_in

    now = datetime.now(UTC)
    practice = simulator_request(sqlite_engine, priority=9)
    real = make_request(sqlite_engine, now - timedelta(minutes=10), priority=1, person="p-real")
    add_user(sqlite_engine, "alice", "handler")
    client, _csrf = signed_in(app_with_clock(sqlite_engine, lambda: now), "alice")
    queue = client.get("/dashboard").text
    assert real in queue and practice not in queue
    assert 'href="/dashboard?practice=true"' in queue
    view = client.get("/dashboard?practice=true").text
    assert practice in view and real not in view
    rows = client.get("/dashboard/queue/rows?practice=true").text
    assert practice in rows and real not in rows
    assert practice not in client.get("/dashboard/queue/rows").text
