"""The web chat while the database is away (tests/faults/test_database_outage.py
breaks it for real: a cut TCP proxy on PostgreSQL, an exclusive lock on
SQLite). The page still gets the emergency guidance and "try again" made from
memory, an exit never fails, and once the database is back the chat goes on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.content.model import Content
from tests.faults.test_database_outage import Outage
from tests.webchat_support import PageClient, chat_app


@pytest.fixture
def outage(db_url: str, tmp_path: Path, content: Content) -> Iterator[Outage]:
    made = Outage(db_url, tmp_path, content)
    yield made
    made.close()


def test_the_web_chat_answers_from_memory_during_an_outage(outage: Outage) -> None:
    with TestClient(chat_app(outage.engine)) as client:
        page = PageClient(client)
        assert [r["key"] for r in page.start()][0] == "first_contact.greeting"
        token = page.token
        outage.cut()
        for text in ("hes at the door", "hello"):
            response = page.post(text=text)
            assert response.status_code == 200
            replies = [r["key"] for r in response.json()["replies"]]
            assert replies == ["words.danger", "words.outage"], text
        assert page.token == token  # the same chat goes on afterwards
        # A new chat during the outage is answered too.
        fresh = PageClient(client).post(command="start")
        assert [r["key"] for r in fresh.json()["replies"]][0] == "words.danger"
        assert client.post("/chat/api/exit", json={"token": token}).status_code == 204
        assert client.post("/chat/api/poll", json={"token": token}).json() == {"messages": []}
        outage.mend()
        assert [r["key"] for r in page.pick("yes")] == ["who.ask"]
