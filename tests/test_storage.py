"""What storage guarantees: dedupe, one-at-a-time handling, nothing personal in plain."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import create_engine, inspect, select, text
from sqlmodel import Session

from bot.storage.binding import request_details
from bot.storage.migrate import downgrade, upgrade
from bot.storage.models import CallbackRequest, Conversation, HandledMessage
from bot.types import Inbound
from tests.conftest import Chat
from tests.test_journeys import make_request


def test_a_repeated_provider_id_changes_nothing_and_gets_the_same_answer(chat: Chat) -> None:
    chat.send("hi", message_id="SM1")
    first = chat.send("1", message_id="SM2")
    again = chat.send("1", message_id="SM2")
    assert [r.to_json() for r in again] == [r.to_json() for r in first]
    assert chat.key == "who.ask"
    chat.send("1")
    assert chat.key == "menus.me"  # the retry did not advance the conversation twice


def test_concurrent_retries_of_one_message_are_handled_once(engine) -> None:  # noqa: ANN001
    Chat(engine).send("hi", message_id="first")

    def deliver(_: int) -> list[dict]:
        inbound = Inbound(
            "sms", "+447700900123", "1", "retried", datetime.now(UTC), address_is_phone=True
        )
        return [r.to_json() for r in engine.handle(inbound)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(deliver, range(12)))
    assert all(a == answers[0] for a in answers)
    assert answers[0][0]["key"] == "who.ask"
    with Session(engine.db.engine) as session:
        rows = session.execute(select(HandledMessage)).scalars().all()
    assert len(rows) == 2


def test_messages_of_one_conversation_are_handled_one_at_a_time(engine) -> None:  # noqa: ANN001
    """Twenty different messages at once: each is handled, none is lost or interleaved."""
    Chat(engine).send("hi", message_id="start")

    def deliver(n: int) -> str:
        inbound = Inbound(
            "sms", "+447700900123", "help", f"m{n}", datetime.now(UTC), address_is_phone=True
        )
        return engine.handle(inbound)[-1].key

    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(deliver, range(20)))
    assert keys == ["first_contact.safe_to_text"] * 20
    with Session(engine.db.engine) as session:
        assert len(session.execute(select(HandledMessage)).scalars().all()) == 21
        assert len(session.execute(select(Conversation)).scalars().all()) == 1


def test_nothing_personal_is_stored_in_plain(chat: Chat) -> None:
    make_request(chat)
    chat.walk("exit", "hi", "yes")
    with chat.engine.db.engine.connect() as connection:
        dump = []
        for table in ("conversations", "handled_messages", "callback_requests"):
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                dump.append(repr(tuple(row)))
    everything = "\n".join(dump)
    assert "7700900123" not in everything
    assert "+447700900123" not in everything


def test_person_is_found_by_a_keyed_hash(chat: Chat) -> None:
    chat.send("hi")
    with Session(chat.engine.db.engine) as session:
        [conversation] = session.execute(select(Conversation)).scalars().all()
    assert len(conversation.person_key) == 64
    assert conversation.person_key == chat.engine.vault.person_key("sms", "+447700900123")
    assert conversation.person_key != chat.engine.vault.person_key("telegram", "+447700900123")


def test_request_details_are_sealed(chat: Chat) -> None:
    make_request(chat)
    with Session(chat.engine.db.engine) as session:
        [request] = session.execute(select(CallbackRequest)).scalars().all()
    assert b"+44" not in request.details_enc
    assert (
        chat.engine.vault.open(request.details_enc, request_details(request.reference))["phone"]
        == "+447700900123"
    )


def test_migrations_upgrade_and_downgrade_cleanly(tmp_path) -> None:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    probe = create_engine(url)
    assert {"conversations", "handled_messages", "callback_requests", "outbox"} <= set(
        inspect(probe).get_table_names()
    )
    downgrade(url)
    assert set(inspect(probe).get_table_names()) <= {"alembic_version"}
    probe.dispose()
