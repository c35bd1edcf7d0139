"""Shared fixtures: a real database on both back-ends, migrated by Alembic.

PostgreSQL is expected on 127.0.0.1:5432 (database `test`, trust auth), or at
TEST_DATABASE_URL. Each test session makes its own database next to that one
and drops it at the end, so runs side by side never meet. When PostgreSQL is
missing the PostgreSQL tests fail under CI and are skipped on a laptop.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import bot.web.app as web_app
from bot.content.model import Content, load_content
from bot.engine import Engine
from bot.settings import PROJECT_ROOT, Settings
from bot.storage.migrate import upgrade
from bot.types import Inbound, Reply
from tests.fake_bot_api import FakeBotApi, FakeBotApiServer

if TYPE_CHECKING:
    from tests.dashboard_support import Dash

# Browser tests wait for what a person or a worker would see. On a 2-core machine
# running the suite on every core, a page can take longer than Playwright's
# 5-second default to update; a wait is a wait, not a speed check (speed lives
# in `make bench`), so it is generous here.
expect.set_options(timeout=20_000)

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_ready() -> bool:
    try:
        probe = create_engine(PG_URL)
        with probe.connect() as connection:
            connection.execute(text("select 1"))
        probe.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_start_up: the app starts exactly as in production")


@pytest.fixture(autouse=True)
def _quick_app_start(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's start-up ends with a full garbage collection and gc.freeze()
    (bot/web/app.py), which in a test process full of earlier tests' objects
    takes about a second per app started, and tests start hundreds. It tunes
    only the collector, so tests skip it; tests/test_start_up.py (marked
    `real_start_up`) checks the real start-up does it."""
    if request.node.get_closest_marker("real_start_up") is None:
        monkeypatch.setattr(web_app, "_settle_start_up_objects", lambda: None)


@pytest.fixture
def dash(
    db_url: str, tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Dash]:
    """The dashboard (tests/dashboard_support.py) on a clean database, once on
    SQLite and once on PostgreSQL."""
    from tests.dashboard_support import dashboard  # it imports this module

    yield from dashboard(db_url, tmp_path, content, monkeypatch)


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    """A fake Telegram Bot API on loopback (tests/fake_bot_api.py), one per test."""
    with FakeBotApiServer() as state:
        yield state


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(PROJECT_ROOT / "content", PROJECT_ROOT / "locales")


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite file at the Alembic head, never written to: a test that
    wants its own database file copies it (`fresh_sqlite`) instead of migrating."""
    path = tmp_path_factory.mktemp("template") / "migrated.db"
    upgrade(f"sqlite:///{path}")
    return path


def fresh_sqlite(template: Path, path: Path) -> str:
    """A new database file at the Alembic head, as `upgrade` would leave it."""
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not _postgres_ready():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL}; CI must run these tests")
        pytest.skip("PostgreSQL is not running here")
    name = f"frontdoor_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


def make_settings(tmp_path: Path, url: str, **overrides: object) -> Settings:
    # Tests type far faster than people: the per-sender cap is lifted unless a
    # test sets it (tests/faults/test_floods.py).
    overrides.setdefault("sender_max_messages", 10_000)
    return Settings(
        var_dir=tmp_path,
        database_url=url,
        frontdoor_secret="test-secret-not-for-production",
        **overrides,
    )


def clean(url: str) -> None:
    wipe = create_engine(url)
    with wipe.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())
    wipe.dispose()


def _fresh_engine(url: str, tmp_path: Path, content: Content) -> Iterator[Engine]:
    clean(url)
    built = Engine(settings=make_settings(tmp_path, url), content=content)
    yield built
    built.db.dispose()


@pytest.fixture
def engine(db_url: str, tmp_path: Path, content: Content) -> Iterator[Engine]:
    """An engine on a clean database, once on SQLite and once on PostgreSQL."""
    yield from _fresh_engine(db_url, tmp_path, content)


@pytest.fixture
def sqlite_engine(sqlite_url: str, tmp_path: Path, content: Content) -> Iterator[Engine]:
    yield from _fresh_engine(sqlite_url, tmp_path, content)


class Chat:
    """One person texting the engine; `send` returns the replies."""

    _ids = itertools.count()

    def __init__(
        self,
        engine: Engine,
        channel: str = "sms",
        address: str = "+447700900123",
        phone: bool = True,
    ) -> None:
        self.engine, self.channel, self.address, self.phone = engine, channel, address, phone
        self.now: datetime | None = None
        self.last: list[Reply] = []

    def send(
        self,
        text: str = "",
        choice: str | None = None,
        message_id: str | None = None,
        command: str | None = None,
    ) -> list[Reply]:
        inbound = Inbound(
            channel=self.channel,
            address=self.address,
            text=text,
            message_id=message_id or f"test-{next(self._ids)}",
            received_at=self.now or datetime.now(UTC),
            choice=choice,
            address_is_phone=self.phone,
            command=command,
        )
        self.last = self.engine.handle(inbound)
        return self.last

    def keys(
        self, text: str = "", choice: str | None = None, command: str | None = None
    ) -> list[str]:
        return [r.key for r in self.send(text, choice, command=command)]

    def walk(self, *texts: str) -> list[Reply]:
        for text_ in texts:
            self.send(text_)
        return self.last

    def pick(self, option_id: str) -> list[Reply]:
        """Answer the last question as on SMS: by the number of the option."""
        ids = self.option_ids()
        assert option_id in ids, f"{option_id} not offered in {self.key}: {ids}"
        return self.send(str(ids.index(option_id) + 1))

    def start(self, audience: str = "me") -> list[Reply]:
        """Greeting, safety check and who-for, landing on the audience's menu."""
        self.send("hello")
        self.pick("yes")
        return self.pick(audience)

    @property
    def key(self) -> str:
        return self.last[-1].key

    def option_ids(self) -> list[str]:
        return [o.id for o in self.last[-1].options]


def own_danger_examples(locale: str) -> list[str]:
    """A language's own danger messages: the examples its safety pattern file
    promises to catch (content/safety/LANG.yaml)."""
    from bot.safety.patterns import load_pattern_file

    loaded = load_pattern_file(PROJECT_ROOT / "content" / "safety" / f"{locale}.yaml")
    assert loaded.patterns is not None, loaded.problems
    return [e for g in loaded.patterns.groups if g.signal == "danger_now" for e in g.examples]


@pytest.fixture
def chat(engine: Engine) -> Chat:
    return Chat(engine)


__all__ = ["Chat", "SQLModel"]
