"""The worker forgets what is no longer needed, and its loop never stops on one failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from bot import worker
from bot.dashboard import audit
from bot.engine import Engine
from bot.outbox import SendCounts
from bot.storage.binding import conversation_slots, outbox_payload
from bot.storage.models import (
    AuditEvent,
    CallbackRequest,
    Conversation,
    HandledMessage,
    OutboundMessage,
    Outbox,
    TelegramMessage,
)
from bot.worker import PurgeCounts, Worker, purge
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
    assert (
        engine.vault.open(conversation.slots_enc, conversation_slots(conversation.person_key)) == {}
    )
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


# ----- retention from each row's creation time, and a loop that never stops ------------------


def test_lowering_retention_applies_to_requests_already_stored(chat: Chat) -> None:
    make_request(chat)  # stored with retain_until 28 days on
    engine = chat.engine
    shorter = engine.settings.model_copy(update={"retention_days": 7})
    now = datetime.now(UTC)
    assert purge(engine.db, engine.vault, shorter, now + timedelta(days=6)).requests == 0
    assert purge(engine.db, engine.vault, shorter, now + timedelta(days=8)).requests == 1
    assert count(chat, CallbackRequest) == 0


def add_outbox(engine: Engine, key: str, status: str, created: datetime, expires: datetime) -> None:
    with engine.db.session() as session:
        session.add(
            Outbox(
                channel="sms",
                kind="text_before_call",
                dedupe_key=key,
                payload_enc=engine.vault.seal(
                    {"address": "+447700900001", "text": "x"}, outbox_payload(key)
                ),
                status=status,
                next_attempt_at=created,
                expires_at=expires,
                created_at=created,
            )
        )
        session.commit()


def outbox_keys(engine: Engine) -> set[str]:
    with engine.db.session() as session:
        return set(session.execute(select(Outbox.dedupe_key)).scalars())


def test_finished_and_expired_outbox_rows_go_after_the_message_retention(engine: Engine) -> None:
    now = datetime.now(UTC)
    later = now + timedelta(days=30)
    for status in ("sent", "void", "failed", "refused", "sending"):
        add_outbox(engine, status, status, now, now + timedelta(minutes=15))
    add_outbox(engine, "pending-expired", "pending", now, now + timedelta(minutes=15))
    add_outbox(engine, "pending-live", "pending", now, later)
    hours = engine.settings.message_retention_hours
    early = purge(engine.db, engine.vault, engine.settings, now + timedelta(hours=hours - 1))
    assert early.outbox == 0
    counts = purge(engine.db, engine.vault, engine.settings, now + timedelta(hours=hours + 1))
    assert counts.outbox == 6 and outbox_keys(engine) == {"pending-live"}


def test_conversations_go_after_their_retention_unless_a_request_is_open(engine: Engine) -> None:
    now = datetime.now(UTC)
    with_request, without = Chat(engine, address="+447700900111"), Chat(engine)
    make_request(with_request)
    without.start("me")
    assert engine.settings.conversation_retention_days == 30
    days = 10  # shorter than the request's own retention, to see an open request keep it
    settings = engine.settings.model_copy(update={"conversation_retention_days": days})
    early = purge(engine.db, engine.vault, settings, now + timedelta(days=days - 1))
    assert early.conversations_deleted == 0
    counts = purge(engine.db, engine.vault, settings, now + timedelta(days=days + 1))
    assert counts.conversations_deleted == 1
    with engine.db.session() as session:
        [kept] = session.execute(select(Conversation)).scalars().all()
    assert kept.person_key == engine.vault.person_key("sms", with_request.address)
    counts = purge(engine.db, engine.vault, engine.settings, now + timedelta(days=31))
    assert (counts.requests, counts.conversations_deleted) == (1, 1)


def test_audit_events_go_after_their_own_retention_and_stay_append_only(engine: Engine) -> None:
    now = datetime.now(UTC)
    with engine.db.session() as session:
        audit.record(session, "login", now, user_name="alice")
        audit.record(session, "override", now, user_name="sue", reason="why", vault=engine.vault)
        session.commit()
    days = engine.settings.audit_retention_days
    assert days == 365
    assert (
        purge(engine.db, engine.vault, engine.settings, now + timedelta(days=days - 1)).audit == 0
    )
    assert (
        purge(engine.db, engine.vault, engine.settings, now + timedelta(days=days + 1)).audit == 2
    )
    assert count(Chat(engine), AuditEvent) == 0
    with engine.db.session() as session:  # everywhere else the ORM still refuses
        audit.record(session, "login", now, user_name="alice")
        session.commit()
        [event] = session.execute(select(AuditEvent)).scalars().all()
        session.delete(event)
        with pytest.raises(audit.AuditIsAppendOnly):
            session.flush()
        session.rollback()


def test_one_failing_purge_step_does_not_keep_the_others_from_deleting(
    chat: Chat, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    make_request(chat)
    engine = chat.engine

    def broken(*_args: object) -> None:
        raise RuntimeError("the table is locked by +447700900123")

    monkeypatch.setattr(worker, "_purge_outbox", broken)
    counts = purge(engine.db, engine.vault, engine.settings, datetime.now(UTC) + timedelta(days=29))
    assert counts.failed_steps == ["outbox"]
    assert counts.requests == 1 and count(chat, CallbackRequest) == 0
    assert counts.messages > 0 and count(chat, HandledMessage) == 0
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "purge step outbox failed: RuntimeError" in logged and "+44" not in logged


def test_the_loop_goes_on_when_a_job_fails(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    loop = Worker(engine.db, engine.vault, engine.settings, {})

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("could not reach +447700900123")

    monkeypatch.setattr(worker, "run_sends", broken)
    monkeypatch.setattr(worker, "purge", broken)
    assert loop.send_round() == SendCounts()
    assert loop.purge_round() == PurgeCounts()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "worker job sends failed: ConnectionError" in logged
    assert "worker job purge failed: ConnectionError" in logged
    assert "7700900123" not in logged


def test_run_worker_once_survives_a_corrupt_row(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_request(chat)
    engine = chat.engine
    with engine.db.session() as session:
        session.execute(update(Conversation).values(slots_enc=b"not sealed at all"))
        session.commit()
    monkeypatch.setattr(worker, "get_settings", lambda: engine.settings)
    later = datetime.now(UTC) + timedelta(days=31)
    assert worker.run_worker(once=True, clock=lambda: later) == 0
    assert count(chat, CallbackRequest) == 0 and count(chat, Conversation) == 0
