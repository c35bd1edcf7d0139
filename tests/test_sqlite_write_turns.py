"""SQLite's writers in one process take turns through a lock (bot/storage/db.py).

The lock must be held exactly while SQLite's own write lock is: given back
however a transaction ends (commit, rollback, a session dropped unfinished, a
BEGIN that failed), or every later message would wait out the timeout and be
answered from memory. Each test here would hang or fail on a leaked turn.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.storage.db import Database

QUICK = 0.5  # seconds: a leaked turn shows as a refusal after this long


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'turns.db'}", timeout=QUICK)
    with database.session() as session:
        session.execute(text("CREATE TABLE tally (n INTEGER NOT NULL)"))
        session.execute(text("INSERT INTO tally (n) VALUES (0)"))
        session.commit()
    return database


def _count_one(db: Database) -> None:
    with db.session() as session:
        session.execute(text("UPDATE tally SET n = n + 1"))
        session.commit()


def _tally(db: Database) -> int:
    with db.session() as session:
        return int(session.execute(text("SELECT n FROM tally")).scalar_one())


def test_many_threads_writing_at_once_all_land(db: Database) -> None:
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(25):
                _count_one(db)
        except BaseException as fault:  # noqa: BLE001 - collected for the assertion
            errors.append(fault)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _tally(db) == 100


def test_a_rolled_back_or_abandoned_transaction_gives_its_turn_back(db: Database) -> None:
    with db.session() as session:
        session.execute(text("UPDATE tally SET n = n + 1"))
        session.rollback()
    with db.session() as session:
        session.execute(text("UPDATE tally SET n = n + 1"))
        # closed unfinished: the pool's reset rolls it back
    done = threading.Event()

    def other_thread() -> None:
        _count_one(db)
        done.set()

    threading.Thread(target=other_thread).start()
    assert done.wait(10)
    assert _tally(db) == 1


def test_a_begin_refused_by_another_process_gives_its_turn_back(
    db: Database, tmp_path: Path
) -> None:
    outsider = sqlite3.connect(tmp_path / "turns.db", isolation_level=None)
    outsider.execute("BEGIN IMMEDIATE")  # another process holding the file
    with pytest.raises(DBAPIError):
        _count_one(db)
    outsider.execute("ROLLBACK")
    outsider.close()
    _count_one(db)  # would wait out the timeout and fail if the turn leaked
    assert _tally(db) == 1


def test_a_writer_held_too_long_is_refused_as_a_database_error(db: Database) -> None:
    holding = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with db.session() as session:
            session.execute(text("UPDATE tally SET n = n + 1"))
            holding.set()
            release.wait(10)
            session.commit()

    thread = threading.Thread(target=holder)
    thread.start()
    assert holding.wait(10)
    try:
        with pytest.raises(DBAPIError):  # the engine answers this from memory
            _count_one(db)
    finally:
        release.set()
        thread.join()
    _count_one(db)
    assert _tally(db) == 2
