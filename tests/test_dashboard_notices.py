"""An urgent request puts one notice for the staff chat in the outbox, with no
personal data; nothing when the request is not urgent or no staff chat is set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.content.model import Content
from bot.engine import Engine
from bot.notices import notify_staff
from bot.storage.binding import outbox_payload
from bot.storage.models import CallbackRequest, Outbox
from tests.conftest import Chat, clean, make_settings
from tests.dashboard_support import SAFE_ANSWERS
from tests.test_journeys import callback_answers, open_callback, practical_answers

STAFF_CHAT = "-1001234567890"


@pytest.fixture
def staffed(db_url: str, tmp_path: Path, content: Content) -> Iterator[Engine]:
    """An engine with a staff chat configured, on SQLite and on PostgreSQL."""
    clean(db_url)
    settings = make_settings(tmp_path, db_url, telegram_staff_chat_id=STAFF_CHAT)
    built = Engine(settings=settings, content=content)
    yield built
    built.db.dispose()


def outbox(engine: Engine) -> list[Outbox]:
    with engine.db.session() as session:
        rows = list(session.execute(select(Outbox)).scalars())
        session.commit()
    return rows


def create(engine: Engine, priority: int, person: str = "p1") -> str:
    now = datetime.now(UTC)
    with engine.db.session() as session:
        store = engine.request_store(session, engine.vault.person_key("sms", person), "sms", now)
        reference = store.create("me", dict(SAFE_ANSWERS), priority)
        session.commit()
    return reference


def test_an_urgent_request_from_the_bot_queues_one_staff_notice(staffed: Engine) -> None:
    chat = Chat(staffed)
    chat.start("me")
    chat.send("menu")
    open_callback(chat)
    callback_answers(chat)
    chat.pick("no")
    chat.pick("yes")  # threatened to kill: urgent on its own
    chat.pick("skip_all")
    practical_answers(chat)
    chat.send("Please call after the school run")
    chat.pick("looks_right")
    assert chat.key == "callback.confirmed"
    with staffed.db.session() as session:
        request = session.execute(select(CallbackRequest)).scalar_one()
        session.commit()
    [row] = outbox(staffed)
    assert (row.kind, row.channel, row.person_key) == ("staff_notice", "telegram", None)
    assert row.dedupe_key == f"staff_notice:{request.reference}"
    payload = staffed.vault.open(row.payload_enc, outbox_payload(row.dedupe_key))
    assert payload == {
        "address": STAFF_CHAT,
        "text": f"Urgent callback {request.reference} waiting",
    }
    for personal in ("7700900123", "Sam", "bluebell", "school run", "Colchester", "olchester"):
        assert personal not in repr(payload)


def test_no_notice_for_a_request_that_is_not_urgent(staffed: Engine) -> None:
    create(staffed, priority=staffed.settings.urgent_priority - 1)
    assert outbox(staffed) == []
    create(staffed, priority=staffed.settings.urgent_priority, person="p2")
    assert [r.kind for r in outbox(staffed)] == ["staff_notice"]


def test_no_notice_without_a_staff_chat(engine: Engine) -> None:
    assert engine.settings.telegram_staff_chat_id == ""
    create(engine, priority=10)
    assert outbox(engine) == []


def test_the_notice_is_queued_once_per_request(staffed: Engine) -> None:
    reference = create(staffed, priority=5)
    with staffed.db.session() as session:
        request = session.execute(
            select(CallbackRequest).where(CallbackRequest.reference == reference)
        ).scalar_one()
        again = notify_staff(session, staffed.vault, staffed.settings, request, datetime.now(UTC))
        session.commit()
    assert again is False
    assert len(outbox(staffed)) == 1


def test_a_request_made_urgent_by_a_later_danger_message_is_announced_once(
    staffed: Engine,
) -> None:
    from tests.test_journeys import make_request

    chat = Chat(staffed)
    reference = make_request(chat)
    assert outbox(staffed) == []  # routine when made
    chat.send("hes outside now")
    chat.send("he is at the door")
    [notice] = outbox(staffed)
    assert notice.kind == "staff_notice" and reference in notice.dedupe_key
