"""The web chat's routes without a browser: the page and its headers, the
script's JSON routes, the no-script form, dedupe, exit, the mailbox a live
chat fills, the caps per session and per address, and the logs.
(tests/test_webchat_browser.py drives the page in chromium.)"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from bot.channels.render import rich_html
from bot.channels.webchat.config import load_config, page_policy, parse_config
from bot.channels.webchat.inbound import issue_token, session_of
from bot.content.model import Content
from bot.engine import Engine
from bot.outbox import enqueue
from bot.settings import PROJECT_ROOT
from bot.storage import chats
from bot.storage.binding import conversation_slots
from bot.storage.models import ChatMessage, Conversation, Outbox
from tests.webchat_support import PageClient, app_client, new_id, webchat_engine

ALLOWED = "https://www.council.example"


@pytest.fixture
def chat_engine(db_url: str, tmp_path: Path, content: Content) -> Iterator[Engine]:
    built = webchat_engine(db_url, tmp_path, content)
    yield built
    built.db.dispose()


@pytest.fixture
def client(chat_engine: Engine) -> Iterator[TestClient]:
    with app_client(chat_engine, allowed_origins=[ALLOWED]) as made:
        yield made


def keys(replies: list[dict[str, Any]]) -> list[str]:
    return [r["key"] for r in replies]


def conversation(engine: Engine, session_id: str) -> Conversation | None:
    person = engine.vault.person_key("webchat", session_id)
    with engine.db.session() as session:
        row = session.execute(
            select(Conversation).where(col(Conversation.person_key) == person)
        ).scalar_one_or_none()
        session.commit()
    return row


# ----- the page and its headers ------------------------------------------------------


def test_the_page_may_be_framed_only_by_the_listed_sites(client: TestClient) -> None:
    page = client.get("/chat")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert f"frame-ancestors {ALLOWED}" in policy
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "x-frame-options" not in page.headers
    assert page.headers["cache-control"] == "no-store"
    assert "set-cookie" not in page.headers
    # Every other page keeps the strict policy.
    other = client.get("/healthz")
    assert "frame-ancestors 'none'" in other.headers["content-security-policy"]
    assert other.headers["x-frame-options"] == "DENY"


def test_without_listed_sites_nobody_may_frame_it(chat_engine: Engine) -> None:
    with app_client(chat_engine, allowed_origins=[]) as client:
        page = client.get("/chat")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_the_configuration_is_read_from_content(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "webchat.yaml").write_text(
        "exit_url: https://news.example/weather\n"
        "colours: {accent: '#003366'}\n"
        "allowed_origins: [https://www.council.example]\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path)
    assert config.exit_url == "https://news.example/weather"
    assert config.colours["accent"] == "#003366" and config.colours["exit"] == "#b10e1e"
    assert config.allowed_origins == (ALLOWED,)
    shipped = load_config(PROJECT_ROOT / "content")
    assert shipped.exit_url.startswith("https://") and shipped.allowed_origins == ()


def test_configuration_leaves_out_what_it_cannot_trust() -> None:
    config = parse_config(
        {
            "exit_url": "javascript:alert(1)",
            "colours": {"accent": "red;}body{display:none", "exit": "#123456"},
            "allowed_origins": [
                "https://ok.example",
                "https://path.example/page",
                "ftp://x.example",
            ],
        }
    )
    assert config.exit_url.startswith("https://")
    assert config.colours["accent"] == "#1d4f91" and config.colours["exit"] == "#123456"
    assert config.allowed_origins == ("https://ok.example",)
    assert "frame-ancestors https://ok.example" in page_policy(config)


def test_the_page_speaks_the_asked_language_right_to_left(client: TestClient) -> None:
    page = client.get("/chat?lang=ar")
    assert '<html lang="ar" dir="rtl">' in page.text
    english = client.get("/chat", headers={"Accept-Language": "de, en;q=0.5"})
    assert '<html lang="en" dir="ltr">' in english.text


def test_the_widget_script_carries_the_settings(client: TestClient) -> None:
    script = client.get("/chat/widget.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert ALLOWED in script.text and "__FRONTDOOR_SETTINGS__" not in script.text
    theme = client.get("/chat/theme.css")
    assert "--accent:#1d4f91;" in theme.text


# ----- the script's routes ------------------------------------------------------------


def test_a_chat_starts_and_a_retried_request_is_answered_once(
    client: TestClient, chat_engine: Engine
) -> None:
    page = PageClient(client)
    assert keys(page.start()) == ["first_contact.greeting", "first_contact.safe_to_text"]
    assert page.token and session_of(chat_engine.vault, page.token)
    first = page.post("retry-0001", choice="yes").json()
    again = page.post("retry-0001", choice="yes").json()
    assert first == again and keys(first["replies"]) == ["who.ask"]
    # The repeat did not move the conversation: "me" answers "who is this for".
    assert keys(page.pick("me")) == ["menus.me"]
    row = conversation(chat_engine, page.session_id)
    assert row is not None and row.locale == "en"


def test_a_token_not_issued_here_starts_a_new_chat(client: TestClient, chat_engine: Engine) -> None:
    real, session_id = issue_token(chat_engine.vault)
    forged = session_id + "." + "0" * 32
    assert session_of(chat_engine.vault, forged) is None
    answer = client.post(
        "/chat/api/messages", json={"id": new_id(), "token": forged, "command": "start"}
    ).json()
    assert answer["token"] not in (forged, real)


def test_bad_input_gets_a_calm_answer(client: TestClient) -> None:
    for body in ({"id": "x"}, {"id": new_id(), "text": "a" * 5000}, {"id": new_id(), "extra": 1}):
        response = client.post("/chat/api/messages", json=body)
        assert response.status_code == 422
        assert (
            response.json()["error"]
            == "That message could not be read. Please check it and try again."
        )


def test_exit_ends_the_conversation_and_drops_what_waited(
    client: TestClient, chat_engine: Engine
) -> None:
    page = PageClient(client)
    page.start()
    for choice in ("yes", "me", "ask_call", "yes"):
        page.pick(choice)
    page.say("07700 900123")
    person = chat_engine.vault.person_key("webchat", page.session_id)
    _queue(chat_engine, page.session_id, "A worker's reply", "exit-test")
    before = conversation(chat_engine, page.session_id)
    assert before is not None and before.flow == "callback"
    assert client.post("/chat/api/exit", json={"token": page.token}).status_code == 204
    after = conversation(chat_engine, page.session_id)
    assert after is not None and after.flow != "callback"
    slots = chat_engine.vault.open(after.slots_enc, conversation_slots(person))
    assert "07700" not in str(slots) and "callback" not in slots
    with chat_engine.db.session() as session:
        assert session.execute(select(Outbox)).first() is None
        session.commit()


def test_exit_without_script_ends_the_chat_and_leaves_for_the_neutral_site(
    client: TestClient, chat_engine: Engine
) -> None:
    page = PageClient(client)
    page.start()
    page.pick("yes")
    response = client.post("/chat/exit", data={"token": page.token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "https://www.bbc.co.uk/weather"
    row = conversation(chat_engine, page.session_id)
    assert row is not None and row.flow != "who"


def test_typed_exit_is_marked_for_the_page(client: TestClient) -> None:
    page = PageClient(client)
    page.start()
    replies = page.say("exit")
    assert [r["exit"] for r in replies] == [True]


# ----- the page without script -----------------------------------------------------------


def test_the_form_carries_the_conversation_without_script(client: TestClient) -> None:
    first = client.post("/chat", data={"id": new_id(), "command": "start", "lang": "en"})
    assert first.status_code == 200
    assert "Is it safe for you to text right now?" in first.text
    assert 'name="choice" value="yes"' in first.text
    token = first.text.split('name="token" value="', 1)[1].split('"', 1)[0]
    assert token
    second = client.post("/chat", data={"id": new_id(), "token": token, "choice": "yes"})
    assert "Who would you like help for?" in second.text
    typed = client.post("/chat", data={"id": new_id(), "token": token, "text": "for me"})
    assert "for me" in typed.text  # the person's own words, on their own page only
    assert "set-cookie" not in typed.headers
    broken = client.post("/chat", data={"id": "?", "token": token, "text": "x"})
    assert broken.status_code == 200
    assert "That message could not be read" in broken.text


# ----- messages waiting for the page (live chat) ------------------------------------------


def _queue(engine: Engine, session_id: str, text: str, key: str, **extra: Any) -> None:
    with engine.db.session() as session:
        enqueue(
            session,
            engine.vault,
            channel="webchat",
            kind="notice",
            address=session_id,
            text=text,
            dedupe_key=key,
            now=datetime.now(UTC),
            person_key=engine.vault.person_key("webchat", session_id),
            **extra,
        )
        session.commit()


def test_a_message_queued_for_the_page_arrives_at_least_once(
    client: TestClient, chat_engine: Engine
) -> None:
    page = PageClient(client)
    page.start()
    _queue(chat_engine, page.session_id, "Hello, I'm <Sam> from the service.", "live-1")
    _queue(
        chat_engine,
        page.session_id,
        "Too late",
        "live-2",
        expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    first = client.post("/chat/api/poll", json={"token": page.token}).json()["messages"]
    assert [m["html"] for m in first] == ["Hello, I'm &lt;Sam&gt; from the service."]
    # Not confirmed yet: handed over again.
    again = client.post("/chat/api/poll", json={"token": page.token}).json()["messages"]
    assert [m["id"] for m in again] == [first[0]["id"]]
    confirmed = client.post(
        "/chat/api/poll", json={"token": page.token, "after": first[0]["id"]}
    ).json()["messages"]
    assert confirmed == []
    with chat_engine.db.session() as session:
        statuses = dict(session.execute(select(Outbox.dedupe_key, Outbox.status)).all())
        session.commit()
    assert statuses == {"live-1": "sent", "live-2": "void"}
    # Another chat's page never sees them.
    other = PageClient(client)
    other.start()
    _queue(chat_engine, page.session_id, "For the first page only", "live-3")
    assert client.post("/chat/api/poll", json={"token": other.token}).json()["messages"] == []


# ----- caps -----------------------------------------------------------------------------


def test_one_address_may_start_only_so_many_chats(
    db_url: str, tmp_path: Path, content: Content
) -> None:
    engine = webchat_engine(db_url, tmp_path, content, webchat_address_max_chats=2)
    with app_client(engine) as client:
        for _ in range(2):
            assert PageClient(client).post(command="start").status_code == 200
        refused = PageClient(client).post(command="start")
    engine.db.dispose()
    assert refused.status_code == 429
    assert keys(refused.json()["replies"]) == ["webchat.busy", "words.danger"]
    assert refused.json()["token"] is None


def test_one_address_is_slowed_but_exit_and_danger_always_pass(
    db_url: str, tmp_path: Path, content: Content
) -> None:
    engine = webchat_engine(db_url, tmp_path, content, webchat_address_max_messages=3)
    with app_client(engine) as client:
        pages = [PageClient(client), PageClient(client)]
        pages[0].start()
        pages[1].start()
        pages[0].pick("yes")
        assert keys(pages[1].pick("yes")) == ["channels.too_many"]
        danger = pages[0].say("he is here and has a knife")
        assert keys(danger) == ["words.danger", "channels.too_many"]
        assert [r["exit"] for r in pages[1].say("exit")] == [True]
    engine.db.dispose()


def test_one_session_is_slowed_like_any_sender(
    db_url: str, tmp_path: Path, content: Content
) -> None:
    engine = webchat_engine(db_url, tmp_path, content, sender_max_messages=2)
    with app_client(engine) as client:
        page = PageClient(client)
        page.start()
        page.pick("yes")
        assert keys(page.pick("me")) == ["channels.too_many"]
        # Never silent: the page is told again rather than left waiting.
        assert keys(page.pick("me")) == ["channels.too_many"]
    engine.db.dispose()


# ----- logs ------------------------------------------------------------------------------


def test_the_web_chat_logs_no_token_and_no_words(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    page = PageClient(client)
    page.start()
    said = ["yes", "me", "ask_call", "yes"]
    for choice in said:
        page.pick(choice)
    page.say("Zephyrine Quillworth 07700 900777")
    page.say("he is at the door with a knife")
    client.post("/chat/api/messages", json={"id": "?", "text": "Quillworth"})
    client.post("/chat/api/exit", json={"token": page.token})
    assert page.token
    secrets = [page.token, page.session_id, "Zephyrine", "Quillworth", "900777", "knife"]
    for record in caplog.records:
        logged = " ".join([record.getMessage(), str(record.args), record.exc_text or ""])
        for secret in secrets:
            assert secret not in logged, f"{record.name} logged {secret!r}"


def test_the_whole_page_is_small_for_a_cheap_phone(client: TestClient) -> None:
    parts = ["/chat", "/chat/static/chat.js", "/chat/static/chat.css", "/chat/theme.css"]
    bodies = [client.get(part) for part in parts]
    assert all(body.status_code == 200 for body in bodies)
    assert bodies[1].headers["content-type"].startswith("text/javascript")
    compressed = sum(len(gzip.compress(body.content, 9)) for body in bodies)
    assert 1_000 < compressed < 50_000
    widget = client.get("/chat/widget.js").content
    assert len(gzip.compress(widget, 9)) < 10_000


def test_a_workers_reply_in_a_live_chat_reaches_the_page(
    client: TestClient, chat_engine: Engine
) -> None:
    page = PageClient(client)
    page.start()
    now = datetime.now(UTC)
    vault = chat_engine.vault
    with chat_engine.db.session() as session:
        live = chats.start_chat(
            session,
            vault,
            person_key=vault.person_key("webchat", page.session_id),
            channel="webchat",
            address=page.session_id,
            locale="en",
            now=now,
        )
        line = chats.add_worker_message(session, vault, live, 1, "Hi, I'm here to help.", now)
        session.commit()
        line_id = line.id
    shown = client.post("/chat/api/poll", json={"token": page.token}).json()["messages"]
    assert [m["html"] for m in shown] == ["Hi, I'm here to help."]
    client.post("/chat/api/poll", json={"token": page.token, "after": shown[0]["id"]})
    with chat_engine.db.session() as session:
        stored = session.get(ChatMessage, line_id)
        session.commit()
    assert stored is not None and stored.delivery == "delivered"


def test_a_post_too_large_is_refused_before_it_is_read(client: TestClient) -> None:
    huge = b'{"id": "abcdefgh1", "text": "' + b"a" * 40_000 + b'"}'
    response = client.post(
        "/chat/api/messages", content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "error" in response.json()


@pytest.mark.parametrize("lang", ["en", "pl", "ar"])
def test_the_greeting_speaks_of_the_page_not_a_phone(
    client: TestClient, chat_engine: Engine, lang: str
) -> None:
    """The phone greeting promises to delete messages "from this phone"; on the
    web the page is what is cleared, and the page's exit button is named."""
    greeting = PageClient(client, lang=lang).start()[0]
    content = chat_engine.content
    assert greeting["key"] == "first_contact.greeting"
    phone = content.reply("first_contact.greeting", lang, options=[]).rich
    web = content.reply("webchat.greeting", lang, options=[]).rich
    assert phone != web
    assert greeting["html"] == rich_html(content.reply("webchat.greeting", lang, options=[]))
    assert content.text("webchat.exit", lang) in web
