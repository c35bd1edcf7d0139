"""Retention, end to end: "don't call me" forgets a person's details at once,
and one pass of the worker's purge, with the clock past every retention,
leaves no row holding a sealed number, name, code word, note or message text,
even when some of those rows can no longer be decrypted."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import LargeBinary, String, func, select, update
from sqlmodel import SQLModel

from bot.channels.telegram.wipe import remember
from bot.dashboard import audit
from bot.engine import Engine
from bot.notices import queue_text_before_call
from bot.outbox import enqueue, send_due
from bot.storage import binding
from bot.storage.binding import attempt_notes, request_details
from bot.storage.models import (
    AuditEvent,
    CallAttempt,
    CallbackRequest,
    Conversation,
    HandledMessage,
    OutboundMessage,
    Outbox,
    StaffUser,
    TelegramMessage,
)
from bot.types import Inbound
from bot.worker import purge
from tests.conftest import Chat
from tests.test_global_words import into_callback
from tests.test_journeys import callback_answers, open_callback, practical_answers, triage_asked
from tests.test_outbox import RecordingSender

# A Monday, 10:00 in London: inside the safe times the journey below picks.
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PHONE = "+447700900123"
SECRETS = (PHONE, "7700900123", "bluebell", "Sam", "school run", "hung up", "They rang us")
SEALED_TABLES = (
    CallbackRequest,
    CallAttempt,
    Outbox,
    HandledMessage,
    Conversation,
    AuditEvent,
    TelegramMessage,
    OutboundMessage,
)


def full_request(chat: Chat) -> CallbackRequest:
    """The whole callback journey: number, safe times, code word, name, note."""
    chat.start("me")
    chat.send("menu")
    open_callback(chat)
    callback_answers(chat)
    triage_asked(chat, "yes")
    practical_answers(chat)
    chat.send("Please call after the school run")
    chat.pick("looks_right")
    assert chat.key == "callback.confirmed"
    with chat.engine.db.session() as session:
        return session.execute(select(CallbackRequest)).scalar_one()


def sealed_leftovers(engine: Engine) -> list[tuple[str, str, Any]]:
    """Every sealed value that still holds something, and every plain text
    column holding a secret, across every table."""
    found: list[tuple[str, str, Any]] = []
    with engine.db.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(table.select()).mappings():
                for column in table.columns:
                    value = row[column.name]
                    if value is None:
                        continue
                    if isinstance(column.type, LargeBinary):
                        if table.name == "lookup_keys":
                            continue  # the person-lookup key itself, no personal data
                        try:
                            context = binding.context_of(table.name, column.name, row)
                            opened = engine.vault.open(value, context)
                        except Exception:  # noqa: BLE001 - unreadable still counts as held
                            opened = "<unreadable>"
                        if opened not in ({}, "", []):
                            found.append((table.name, column.name, opened))
                    elif isinstance(column.type, String) and any(
                        secret in str(value) for secret in SECRETS
                    ):
                        found.append((table.name, column.name, value))
    return found


def rows_in(engine: Engine, model: type[SQLModel]) -> int:
    with engine.db.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_dont_call_me_forgets_the_personal_details_at_once(engine: Engine) -> None:
    chat = Chat(engine)
    chat.now = MONDAY_10
    request = full_request(chat)
    with engine.db.session() as session:
        session.add(
            CallAttempt(
                request_id=request.id,
                user_id=1,
                kind="someone_else",
                id=9001,  # known before the insert, as the notes are bound to it
                notes_enc=engine.vault.seal("A man answered and hung up", attempt_notes(9001)),
                created_at=MONDAY_10,
            )
        )
        stored = session.get(CallbackRequest, request.id)
        assert stored is not None
        assert (
            queue_text_before_call(session, engine.content, engine.vault, stored, "1", MONDAY_10)
            == "queued"
        )
        session.commit()

    chat.send("exit")
    chat.send("my request")
    chat.send("bluebell")  # the code word opens it
    assert chat.key == "my_request.status"
    chat.pick("cancel")
    chat.pick("yes")  # "Are you sure?"
    assert chat.key == "my_request.cancelled"

    with engine.db.session() as session:
        cancelled = session.get(CallbackRequest, request.id)
        assert cancelled is not None
        [attempt] = session.execute(select(CallAttempt)).scalars().all()
        outbox = session.execute(select(Outbox)).scalars().all()
    assert (
        cancelled.status == "cancelled"
        and engine.vault.open(cancelled.details_enc, request_details(cancelled.reference)) == {}
    )
    assert (cancelled.reference, cancelled.route) == (request.reference, "me")  # plain columns stay
    assert attempt.notes_enc is None and attempt.kind == "someone_else"
    assert outbox == []
    assert [t for t, _, _ in sealed_leftovers(engine) if t in ("callback_requests", "outbox")] == []


def test_requests_cancelled_before_this_change_lose_their_details_at_the_next_purge(
    engine: Engine,
) -> None:
    chat = Chat(engine)
    chat.now = MONDAY_10
    request = full_request(chat)
    with engine.db.session() as session:  # cancelled the old way: details kept
        session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == request.id)
            .values(status="cancelled")
        )
        session.commit()
    counts = purge(engine.db, engine.vault, engine.settings, MONDAY_10 + timedelta(minutes=1))
    assert counts.cancelled_wiped == 1
    with engine.db.session() as session:
        stored = session.get(CallbackRequest, request.id)
        assert stored is not None
    assert engine.vault.open(stored.details_enc, request_details(stored.reference)) == {}
    again = purge(engine.db, engine.vault, engine.settings, MONDAY_10 + timedelta(minutes=2))
    assert again.cancelled_wiped == 0  # an emptied row is found by its length, not re-sealed


def test_one_purge_past_every_retention_leaves_no_personal_data(engine: Engine) -> None:
    settings = engine.settings
    # A person who confirmed a request by SMS (number, name, code word, note) ...
    person = Chat(engine)
    person.now = MONDAY_10
    request = full_request(person)
    # ... one half-way through asking (unconfirmed answers in the conversation) ...
    drafting = Chat(engine, address="+447700900456")
    drafting.now = MONDAY_10
    into_callback(drafting)
    drafting.send("mon")
    # ... and one on Telegram (handled messages with the sealed chat id).
    telegram = Chat(engine, channel="telegram", address="5550001", phone=False)
    telegram.now = MONDAY_10
    telegram.start("me")
    engine.handle(  # as the Telegram channel does: it sends the replies itself
        Inbound(
            channel="telegram",
            address="5550001",
            text="menu",
            message_id="tg-1",
            received_at=MONDAY_10,
            sent_by_channel=True,
        )
    )
    remember(engine.db, engine.vault.person_key("telegram", "5550001"), [11, 12], MONDAY_10)

    with engine.db.session() as session:
        user = StaffUser(name="alice", role="handler", password_hash="x", created_at=MONDAY_10)
        session.add(user)
        session.flush()
        session.add(
            CallAttempt(
                request_id=request.id,
                user_id=user.id,
                kind="someone_else",
                id=9001,  # known before the insert, as the notes are bound to it
                notes_enc=engine.vault.seal("A man answered and hung up", attempt_notes(9001)),
                created_at=MONDAY_10,
            )
        )
        audit.record(session, "number_view", MONDAY_10, user, reference=request.reference)
        audit.record(
            session,
            "override",
            MONDAY_10,
            user,
            reference=request.reference,
            detail="text_not_allowed",
            reason="They rang us and asked",
            vault=engine.vault,
        )
        stored = session.get(CallbackRequest, request.id)
        assert stored is not None
        for occasion in ("sent", "pending"):
            queue_text_before_call(
                session, engine.content, engine.vault, stored, occasion, MONDAY_10
            )
        enqueue(
            session,
            engine.vault,
            channel="telegram",
            kind="staff_notice",
            address="-100123",
            text=f"Urgent callback {request.reference} waiting",
            dedupe_key=f"staff_notice:{request.reference}",
            now=MONDAY_10,
        )
        session.commit()
    # The first text goes (a delivery record), the second is left pending.
    with engine.db.session() as session:
        session.execute(
            update(Outbox)
            .where(Outbox.dedupe_key.like("%:pending"))
            .values(next_attempt_at=MONDAY_10 + timedelta(days=1))
        )
        session.commit()
    sender = RecordingSender()
    assert asyncio.run(send_due(engine.db, engine.vault, {"sms": sender}, MONDAY_10)).sent == 1
    # Two rows nobody can decrypt any more: they must go all the same.
    with engine.db.session() as session:
        session.execute(
            update(Conversation)
            .where(Conversation.person_key == engine.vault.person_key("sms", drafting.address))
            .values(slots_enc=b"\x00corrupt sealed answers")
        )
        session.execute(update(CallbackRequest).values(details_enc=b"\x01" * 64))
        session.commit()

    for model in SEALED_TABLES:
        assert rows_in(engine, model) >= 1, model.__tablename__
    held = {(table, column) for table, column, _ in sealed_leftovers(engine)}
    assert {
        ("callback_requests", "details_enc"),
        ("call_attempts", "notes_enc"),
        ("outbox", "payload_enc"),
        ("handled_messages", "replies_enc"),
        ("handled_messages", "address_enc"),
        ("conversations", "slots_enc"),
        ("audit_events", "reason_enc"),
    } <= held

    longest = max(
        timedelta(days=settings.retention_days),
        timedelta(days=settings.conversation_retention_days),
        timedelta(days=settings.audit_retention_days),
        timedelta(hours=settings.message_retention_hours),
    )
    counts = purge(engine.db, engine.vault, settings, MONDAY_10 + longest + timedelta(days=1))

    assert counts.failed_steps == []
    # The request's own texts go with it; the outbox step takes the staff notice.
    assert (counts.requests, counts.outbox, counts.audit, counts.deliveries) == (1, 1, 2, 1)
    assert counts.unreadable == 1  # the corrupt draft; the corrupt request is deleted unread
    assert counts.conversations_deleted == 3 and counts.telegram_ids == 2
    for model in SEALED_TABLES:
        assert rows_in(engine, model) == 0, model.__tablename__
    assert sealed_leftovers(engine) == []
