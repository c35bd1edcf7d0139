"""A dashboard page waiting for the database never stalls the rest of the app.

Signing a staff member in reads and touches their session in the database. On
SQLite a write lock held elsewhere makes that wait; if the wait ran on the
event loop, every other request (the person's webhook, the chat's live poll,
the session close of the very request holding the lock) would stall with it
until the timeout. Here a real uvicorn server is used, the lock is held by
another connection, and the app must still answer while the page waits, then
serve the page once the lock is free.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from bot.content.model import Content
from bot.storage.migrate import upgrade
from tests.dashboard_support import build, quick_passwords, served, sign_in


def test_a_page_waiting_for_the_database_leaves_the_app_answering(
    tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick_passwords(monkeypatch)
    path = tmp_path / "loop.db"
    upgrade(f"sqlite:///{path}")
    dash = build(f"sqlite:///{path}", tmp_path, content, db_timeout_seconds=10)
    with served(dash.app) as base, httpx.Client(base_url=base, timeout=30) as client:
        assert sign_in(client, "alice").status_code == 303
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # someone else is writing
        pages: list[int] = []
        waiting = threading.Thread(
            target=lambda: pages.append(client.get("/dashboard").status_code)
        )
        waiting.start()
        try:
            threading.Event().wait(0.5)  # let the page reach its wait for the lock
            # A file the app serves from the event loop itself, with no database.
            served_file = httpx.get(f"{base}/static/calm.css", timeout=30)
            assert served_file.status_code == 200
            assert waiting.is_alive() and not pages, "the page waits for the lock, not the app"
        finally:
            holder.rollback()
            holder.close()
        waiting.join(timeout=30)
    assert pages == [200], "once the lock is free the page is served"
    dash.engine.db.engine.dispose()
