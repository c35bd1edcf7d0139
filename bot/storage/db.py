"""The database layer: one SQLAlchemy engine, sessions, and per-conversation locking.

SQLite (the default, under ./var) runs in WAL mode and every transaction is a
write transaction (BEGIN IMMEDIATE), so messages are handled one at a time.
On PostgreSQL a conversation's row is locked with SELECT ... FOR UPDATE, so
several web processes can share one database and still keep each
conversation in order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import Table, event, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, SQLModel, col, create_engine

from bot.storage.models import Conversation

DEFAULT_TIMEOUT = 5  # seconds: a webhook never waits long for a lock or a lost server


def make_engine(url: str, timeout: float = DEFAULT_TIMEOUT) -> Engine:
    """An engine that gives up after `timeout` seconds waiting for a connection,
    a lock or a statement, so a person gets the calm "please send that again"
    reply quickly instead of a webhook that hangs until the provider gives up."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": timeout})
        _make_sqlite_serial(engine, timeout)
        return engine
    millis = int(timeout * 1000)
    options = f"-c lock_timeout={millis} -c statement_timeout={millis * 2}"
    connect_args = {"connect_timeout": max(1, round(timeout)), "options": options}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _make_sqlite_serial(engine: Engine, timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.engine = make_engine(url, timeout)
        self.is_postgres = self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def lock_conversation(
        self, session: Session, person_key: str, defaults: dict
    ) -> tuple[Conversation, bool]:
        """Fetch (creating if needed) and lock one person's conversation row."""
        query = select(Conversation).where(col(Conversation.person_key) == person_key)
        if self.is_postgres:
            query = query.with_for_update()
        found = session.execute(query).scalar_one_or_none()
        if found is not None:
            return found, False
        insert = pg_insert if self.is_postgres else sqlite_insert
        session.execute(
            insert(Conversation)
            .values(person_key=person_key, **defaults)
            .on_conflict_do_nothing(index_elements=["person_key"])
        )
        return session.execute(query).scalar_one(), True

    def dispose(self) -> None:
        self.engine.dispose()


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched. SQLModel types `Session.execute` as a plain
    `Result`; for these statements it is a `CursorResult`, which counts them."""
    return cast(CursorResult[Any], result).rowcount


class _Stored(Protocol):
    id: int | None


def id_of(row: _Stored) -> int:
    """A stored row's key. SQLModel types it optional, as it is before the first flush."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id until it is stored")
    return row.id


def table_of(model: type[SQLModel]) -> Table:
    """A model's table, typed (SQLModel does not declare `__table__`)."""
    return cast(Table, inspect(model).local_table)


def utc(dt: datetime) -> datetime:
    """SQLite hands back naive datetimes; treat them as the UTC they were stored as."""
    from datetime import UTC

    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
