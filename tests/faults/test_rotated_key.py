"""A key rotated while people keep texting, and a rotation that dies halfway.

The service restarts with a new FRONTDOOR_SECRET (the old one in
FRONTDOOR_OLD_SECRETS) and goes on answering while `frontdoor keys rotate`
runs in another thread with its own connections, so rows are re-sealed under
the people writing them. Every message is answered, danger gets the 999
guidance, nobody becomes a stranger (no second conversation), and once the
rotation reports complete the old secret can go. A rotation process killed
(SIGKILL) halfway is run again and finishes; the service never stops
answering in between. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.content.model import Content
from bot.engine import Engine
from bot.settings import PROJECT_ROOT, Settings
from bot.storage import rotation
from bot.storage.crypto import key_id
from bot.storage.db import Database
from bot.storage.keys import open_vault
from bot.storage.models import CallbackRequest, Conversation
from tests.conftest import Chat, clean, make_settings, own_danger_examples
from tests.dashboard_support import SAFE_ANSWERS

OLD, NEW = "the-secret-before", "the-secret-after"
PEOPLE = [f"+4477009002{n:02}" for n in range(6)]


def keyed(tmp_path: Path, url: str, secret: str, *old: str) -> Settings:
    return make_settings(tmp_path, url).model_copy(
        update={"frontdoor_secret": secret, "frontdoor_old_secrets": ",".join(old)}
    )


@pytest.fixture
def started(db_url: str, tmp_path: Path, content: Content) -> Iterator[list[Engine]]:
    clean(db_url)
    engines: list[Engine] = []
    yield engines
    for engine in engines:
        engine.db.dispose()


def _before(started: list[Engine], settings: Settings, content: Content) -> str:
    """People talking under the old secret; the first has an open request."""
    engine = Engine(settings=settings, content=content)
    started.append(engine)
    for person in PEOPLE:
        Chat(engine, address=person).send("hi")
    with engine.db.session() as session:
        first = engine.vault.person_key("sms", PEOPLE[0])
        store = engine.request_store(session, first, "sms", datetime.now(UTC))
        reference = store.create("me", dict(SAFE_ANSWERS), 0)
        session.commit()
    return reference


def _talk(app: Engine, stop: threading.Event, answered: list[list[str]]) -> None:
    """Everyone keeps texting, one of them in danger, until told to stop."""
    danger = own_danger_examples("en")[0]
    rounds = 0
    while not stop.is_set() or rounds < 2:
        for n, person in enumerate(PEOPLE):
            text = danger if n == 0 else ("menu" if rounds % 2 else "hi")
            answered.append([r.key for r in Chat(app, address=person).send(text)])
        rounds += 1


def test_people_are_answered_and_recognised_while_the_key_is_rotated(
    started: list[Engine], db_url: str, tmp_path: Path, content: Content
) -> None:
    reference = _before(started, keyed(tmp_path, db_url, OLD), content)
    app = Engine(settings=keyed(tmp_path, db_url, NEW, OLD), content=content)  # restarted
    started.append(app)
    stop, answered = threading.Event(), list[list[str]]()
    talking = threading.Thread(target=_talk, args=(app, stop, answered))
    talking.start()
    rotating_db = Database(db_url)  # another process: its own connections
    vault = open_vault(keyed(tmp_path, db_url, NEW, OLD), rotating_db)
    runs = [rotation.rotate(rotating_db, vault, batch=2)]
    while not runs[-1].complete:
        runs.append(rotation.rotate(rotating_db, vault, batch=2))
    stop.set()
    talking.join(timeout=120)
    assert not talking.is_alive()

    assert answered and all(keys for keys in answered)  # every message answered
    dangers = answered[:: len(PEOPLE)]
    assert all("words.danger" in keys for keys in dangers)
    census = rotation.census(rotating_db)
    assert all(set(counts) <= {key_id(NEW.encode())} for counts in census.values())
    rotating_db.dispose()

    after = Engine(settings=keyed(tmp_path, db_url, NEW), content=content)  # old secret gone
    started.append(after)
    for person in PEOPLE:
        assert Chat(after, address=person).send("hi")
    with after.db.session() as session:
        conversations = session.execute(select(func.count()).select_from(Conversation))
        assert conversations.scalar_one() == len(PEOPLE)  # nobody became a stranger
        request = session.execute(select(CallbackRequest)).scalar_one()
        session.commit()
    assert request.reference == reference and "danger_now" in request.safety_flags


def test_a_rotation_killed_halfway_is_run_again_and_finishes(
    started: list[Engine], db_url: str, tmp_path: Path, content: Content
) -> None:
    _before(started, keyed(tmp_path, db_url, OLD), content)
    app = Engine(settings=keyed(tmp_path, db_url, NEW, OLD), content=content)
    started.append(app)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "VAR_DIR": str(tmp_path),
        "FRONTDOOR_SECRET": NEW,
        "FRONTDOOR_OLD_SECRETS": OLD,
    }
    # A rotation that stops after its first rows, as if the machine died there.
    script = (
        "import os, signal\n"
        "from bot.storage import rotation\n"
        "real = rotation._reseal\n"
        "done = []\n"
        "def dying(*args):\n"
        "    real(*args)\n"
        "    done.append(1)\n"
        "    if len(done) == 3:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "rotation._reseal = dying\n"
        "from bot.cli import main\n"
        "main(['keys', 'rotate'])\n"
    )
    killed = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=PROJECT_ROOT, timeout=120, check=False
    )
    assert killed.returncode == -signal.SIGKILL
    assert Chat(app, address=PEOPLE[1]).send("hi")  # still answering, half rotated
    census = rotation.census(app.db)
    assert sum(counts[key_id(OLD.encode())] for counts in census.values()) > 0

    start = time.monotonic()
    again = subprocess.run(
        [sys.executable, "-m", "bot.cli", "keys", "rotate"],
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr
    assert "retired key ids: " + key_id(OLD.encode()) in again.stdout
    assert time.monotonic() - start < 120
    census = rotation.census(app.db)
    assert all(set(counts) <= {key_id(NEW.encode())} for counts in census.values())
    after = Engine(settings=keyed(tmp_path, db_url, NEW), content=content)
    started.append(after)
    assert after.vault.person_key("sms", PEOPLE[0]) == app.vault.person_key("sms", PEOPLE[0])
