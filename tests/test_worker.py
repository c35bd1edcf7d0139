"""The worker forgets what is no longer needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from bot.storage.models import (
    CallbackRequest,
    Conversation,
    HandledMessage,
    OutboundMessage,
    TelegramMessage,
)
from bot.worker import purge
from tests.conftest import Chat
from tests.test_global_words import into_callback
from tests.test_journeys import make_request


def count(chat: Chat, model: type) -> int:
    with Session(chat.engine.db.engine) as session:
        return len(session.execute(select(model)).scalars().all())


def test_expired_requests_and_old_message_ids_are_deleted(chat: Chat) -> None:
    make_request(chat)
    engine = chat.engine
    assert count(chat, CallbackRequest) == 1
    soon = purge(engine.db, engine.vault, engine.settings, datetime.now(UTC) + timedelta(days=1))
    assert soon.requests == 0 and count(chat, CallbackRequest) == 1
    later = purge(engine.db, engine.vault, engine.settings, datetime.now(UTC) + timedelta(days=29))
    assert later.requests == 1 and count(chat, CallbackRequest) == 0
    assert later.messages > 0 and count(chat, HandledMessage) == 0


def test_idle_drafts_are_wiped_and_the_person_is_told_on_return(chat: Chat) -> None:
    into_callback(chat)
    engine = chat.engine
    counts = purge(engine.db, engine.vault, engine.settings, datetime.now(UTC) + timedelta(hours=1))
    assert counts.conversations == 1
    with Session(engine.db.engine) as session:
        [conversation] = session.execute(select(Conversation)).scalars().all()
    assert engine.vault.open(conversation.slots_enc) == {}
    chat.now = datetime.now(UTC) + timedelta(hours=1)
    assert chat.keys("mon") == ["words.timed_out", "first_contact.safe_to_text"]


def test_active_conversations_are_left_alone(chat: Chat) -> None:
    into_callback(chat)
    engine = chat.engine
    assert purge(engine.db, engine.vault, engine.settings).conversations == 0
    chat.send("mon")
    assert chat.key == "callback.window"


def test_telegram_ids_go_after_48_hours_and_delivery_records_after_retention(chat: Chat) -> None:
    engine = chat.engine
    now = datetime.now(UTC)
    with Session(engine.db.engine) as session:
        session.add(TelegramMessage(person_key="p", message_id=1, sent_at=now))
        session.add(OutboundMessage(channel="sms", person_key="p", created_at=now, updated_at=now))
        session.commit()
    day = purge(engine.db, engine.vault, engine.settings, now + timedelta(hours=47))
    assert (day.telegram_ids, day.deliveries) == (0, 0)
    two_days = purge(engine.db, engine.vault, engine.settings, now + timedelta(hours=49))
    assert (two_days.telegram_ids, two_days.deliveries) == (1, 0)
    assert count(chat, TelegramMessage) == 0 and count(chat, OutboundMessage) == 1
    month = purge(engine.db, engine.vault, engine.settings, now + timedelta(days=29))
    assert month.deliveries == 1 and count(chat, OutboundMessage) == 0
