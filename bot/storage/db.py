"""The database layer: one SQLAlchemy engine, sessions, and per-conversation locking.

SQLite (the default, under ./var) runs in WAL mode and every transaction is a
write transaction (BEGIN IMMEDIATE), so messages are handled one at a time.
Within one process the threads take turns through a lock handed over the
moment a transaction ends (see `_WriteTurns`), rather than through SQLite's
busy handler, which sleeps in steps of up to 100 ms between tries.
On PostgreSQL a conversation's row is locked with SELECT ... FOR UPDATE, so
several web processes can share one database and still keep each
conversation in order.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, event, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, CursorResult, Engine, Result
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, SQLModel, create_engine

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


class _WriteTurns:
    """One SQLite write transaction at a time in this process.

    SQLite's own lock still guards the file (another process, another engine);
    this lock only spares the threads of one engine its busy handler, whose
    sleeps made four people texting at once wait up to a second. It is held
    exactly while SQLite's lock is: taken before BEGIN IMMEDIATE, given back
    when that connection commits, rolls back (the pool's reset included) or
    closes, so code that waits on it would have waited on SQLite's lock too."""

    def __init__(self, timeout: float) -> None:
        self._lock = threading.Lock()
        self._holder: object | None = None
        self._timeout = timeout

    def take(self, dbapi_connection: object) -> None:
        if not self._lock.acquire(timeout=self._timeout):
            raise OperationalError(
                "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
            )
        self._holder = dbapi_connection

    def give_back(self, dbapi_connection: object) -> None:
        if self._holder is not None and self._holder is dbapi_connection:
            self._holder = None
            self._lock.release()


def _raw(connection: object) -> object:
    """The sqlite3 connection behind the pool's proxy (or itself)."""
    return getattr(connection, "dbapi_connection", connection)


def _make_sqlite_serial(engine: Engine, timeout: float) -> None:
    turns = _WriteTurns(timeout)
    dialect = engine.dialect
    plain_commit, plain_rollback, plain_close = (
        dialect.do_commit,
        dialect.do_rollback,
        dialect.do_close,
    )

    def do_commit(dbapi_connection: Any) -> None:
        try:
            plain_commit(dbapi_connection)
        finally:
            turns.give_back(_raw(dbapi_connection))

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            plain_rollback(dbapi_connection)
        finally:
            turns.give_back(_raw(dbapi_connection))

    def do_close(dbapi_connection: Any) -> None:
        try:
            plain_close(dbapi_connection)
        finally:
            turns.give_back(_raw(dbapi_connection))

    # The dialect's own methods are where SQLAlchemy ends every transaction,
    # the pool's reset on return included; events fire before the COMMIT.
    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]
    dialect.do_close = do_close  # type: ignore[method-assign]

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
        raw = _raw(connection.connection)
        turns.take(raw)
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            turns.give_back(raw)
            raise


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
        self, session: Session, person_key: str, defaults: dict[str, Any]
    ) -> tuple[Conversation, bool]:
        """Fetch (creating if needed) and lock one person's conversation row.
        The row comes back as a plain value, not tracked by the session: the
        turn writes it back with `save_conversation`."""
        connection = core(session)
        find = _FIND_CONVERSATION_LOCKED if self.is_postgres else _FIND_CONVERSATION
        found = connection.execute(find, {"person": person_key}).one_or_none()
        if found is not None:
            return Conversation(**found._asdict()), False
        connection.execute(
            insert_or_ignore(Conversation, "person_key", self.is_postgres),
            {"person_key": person_key, **defaults},
        )
        created = connection.execute(find, {"person": person_key}).one()
        return Conversation(**created._asdict()), True

    def save_conversation(self, session: Session, conversation_id: int, **values: Any) -> None:
        """Write back the columns a turn changed."""
        core(session).execute(_SAVE_CONVERSATION, {"conversation_id": conversation_id, **values})

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


def core(session: Session) -> Connection:
    """The session's own connection, in its transaction. The few statements
    every message runs are built once as constants and executed here, without
    the ORM's bookkeeping, which cost more than the statements themselves.
    What the session holds unwritten is written first, as the ORM's own
    queries would (a no-op when nothing is pending)."""
    session.flush()
    return session.connection()


@cache
def insert_or_ignore(model: type[SQLModel], key: str, is_postgres: bool) -> Insert:
    """INSERT ... ON CONFLICT (key) DO NOTHING on either database, built once;
    the values come with each execution."""
    insert = pg_insert if is_postgres else sqlite_insert
    return insert(table_of(model)).on_conflict_do_nothing(index_elements=[key])


def table_of(model: type[SQLModel]) -> Table:
    """A model's table, typed (SQLModel does not declare `__table__`)."""
    return cast(Table, inspect(model).local_table)


def utc(dt: datetime) -> datetime:
    """SQLite hands back naive datetimes; treat them as the UTC they were stored as."""
    from datetime import UTC

    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


_CONVERSATIONS = table_of(Conversation)
_FIND_CONVERSATION = select(_CONVERSATIONS).where(
    _CONVERSATIONS.c.person_key == bindparam("person")
)
_FIND_CONVERSATION_LOCKED = _FIND_CONVERSATION.with_for_update()
_SAVE_CONVERSATION = update(_CONVERSATIONS).where(
    _CONVERSATIONS.c.id == bindparam("conversation_id")
)
