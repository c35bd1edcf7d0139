"""The browser simulator's endpoint: same engine, both renderings, calm on bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.engine import Engine
from bot.storage import chats
from bot.storage.models import ChatMessage
from bot.web.app import create_app


@pytest.fixture
def client(sqlite_engine: Engine) -> TestClient:
    return TestClient(create_app(sqlite_engine))


class Browser:
    """One simulator tab: a session id, and a fresh message id per send."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.session = "sim-" + uuid.uuid4().hex[:12]

    def send(
        self, text: str | None = "", choice: str | None = None, message_id: str | None = None
    ) -> list[dict[str, Any]]:
        response = self.client.post(
            "/simulator/messages",
            json={
                "session": self.session,
                "text": text,
                "choice": choice,
                "message_id": message_id or uuid.uuid4().hex,
            },
        )
        assert response.status_code == 200, response.text
        return response.json()["replies"]


def keys(replies: list[dict[str, Any]]) -> list[str]:
    return [r["key"] for r in replies]


def test_first_message_greets_and_asks_if_safe(client: TestClient) -> None:
    replies = Browser(client).send("hello")
    assert keys(replies) == ["first_contact.greeting", "first_contact.safe_to_text"]
    question = replies[-1]
    assert {"key", "sms", "html", "options", "direction", "action"} <= question.keys()
    assert [o["id"] for o in question["options"]][0] == "yes"
    assert all(set(o) == {"id", "label"} for o in question["options"])
    assert question["direction"] in ("ltr", "rtl")
    assert question["action"] is None


def test_sms_field_numbers_the_options(client: TestClient) -> None:
    question = Browser(client).send("hello")[-1]
    lines = question["sms"].splitlines()
    assert lines[1].startswith("1 ")
    assert lines[2].startswith("2 ")
    assert "<b>" not in question["sms"]


def test_pressing_a_button_moves_on(client: TestClient) -> None:
    browser = Browser(client)
    browser.send("hello")
    replies = browser.send(text=None, choice="yes")
    assert keys(replies)[-1] == "who.ask"
    assert replies[-1]["options"]


def test_repeated_message_id_is_answered_the_same_and_does_not_advance(
    client: TestClient,
) -> None:
    retried, control = Browser(client), Browser(client)
    for browser in (retried, control):
        browser.send("hello")
        browser.send(text=None, choice="yes")
    first = retried.send("1", message_id="retry-1")
    again = retried.send("1", message_id="retry-1")
    assert again == first
    control.send("1")
    # Had the repeat been handled again, the two conversations would now differ.
    assert keys(retried.send("1")) == keys(control.send("1"))


def test_sessions_cannot_replay_each_other(client: TestClient) -> None:
    one, two = Browser(client), Browser(client)
    one.send("hello", message_id="same-id")
    replies = two.send("EXIT", message_id="same-id")
    assert keys(replies) == ["words.exit"]


def test_exit_asks_for_a_quick_exit(client: TestClient) -> None:
    browser = Browser(client)
    browser.send("hello")
    replies = browser.send("EXIT")
    assert any(r["action"] == "quick_exit" for r in replies)


@pytest.mark.parametrize(
    "body",
    [
        {"session": "short", "text": "hello"},
        {"session": "valid-session-1", "text": "x" * 20_000},
        {"session": "bad session!", "text": "hello"},
        {"session": "valid-session-1", "text": "hello", "message_id": "x" * 200},
        {"session": "valid-session-1", "text": "hello", "surprise": 1},
        {"text": "hello"},
    ],
)
def test_invalid_body_is_refused_calmly(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/simulator/messages", json=body)
    assert response.status_code == 422
    assert "Traceback" not in response.text
    assert "error" in response.json()
    assert "x" * 100 not in response.text  # the input is not echoed back


def test_malformed_json_is_refused_calmly(client: TestClient) -> None:
    response = client.post(
        "/simulator/messages", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "Traceback" not in response.text


def test_a_workers_live_chat_line_reaches_the_simulator_page_once_confirmed(
    client: TestClient, sqlite_engine: Engine
) -> None:
    """The simulator has no sender: a worker's line waits until the page asks,
    is handed over again until the page confirms it, then is delivered."""
    browser = Browser(client)
    browser.send("hello")
    vault, now = sqlite_engine.vault, datetime.now(UTC)
    with sqlite_engine.db.session() as session:
        live = chats.start_chat(
            session,
            vault,
            person_key=vault.person_key("simulator", browser.session),
            channel="simulator",
            address=browser.session,
            locale="en",
            now=now,
        )
        line = chats.add_worker_message(session, vault, live, 1, "I'm here. Take your time.", now)
        session.commit()
        line_id = line.id

    def waiting(after: int = 0) -> list[dict[str, Any]]:
        response = client.post(
            "/simulator/waiting", json={"session": browser.session, "after": after}
        )
        assert response.status_code == 200, response.text
        return response.json()["messages"]

    assert Browser(client).session != browser.session
    other = client.post("/simulator/waiting", json={"session": Browser(client).session})
    assert other.json()["messages"] == []  # another tab never sees it
    first = waiting()
    assert [m["text"] for m in first] == ["I'm here. Take your time."]
    assert [m["id"] for m in waiting()] == [first[0]["id"]]  # not confirmed: handed over again
    assert waiting(after=first[0]["id"]) == []
    with sqlite_engine.db.session() as session:
        stored = session.get(ChatMessage, line_id)
        session.commit()
    assert stored is not None and stored.delivery == "delivered"


def test_a_bad_poll_gets_a_clear_refusal(client: TestClient) -> None:
    assert client.post("/simulator/waiting", json={"session": "x"}).status_code == 422
    assert client.post("/simulator/waiting", json={"after": 1}).status_code == 422
