"""The outbox sends each queued message at most once, retries what surely did
not go, and never texts a number that opted out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from bot.engine import Engine
from bot.outbox import (
    MAX_ATTEMPTS,
    SendDeferred,
    SendRefused,
    Sent,
    enqueue,
    is_opted_out,
    record_opt_out,
    send_due,
)
from bot.storage.models import OutboundMessage, Outbox

NUMBER = "+447700900321"


class RecordingSender:
    """A real sender for tests: records what it was asked to send and answers
    with the outcomes it was given, one per call."""

    channel = "sms"

    def __init__(self, *outcomes: Sent | Exception) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[tuple[str, str]] = []

    async def send(self, address: str, text: str) -> Sent:
        self.calls.append((address, text))
        outcome = self.outcomes.pop(0) if self.outcomes else Sent("SM1", 1, "GSM-7")
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def queue(engine: Engine, now: datetime, key: str = "text_before_call:FD-AAAA:1") -> bool:
    with Session(engine.db.engine) as session:
        added = enqueue(
            session,
            engine.vault,
            channel="sms",
            kind="text_before_call",
            address=NUMBER,
            text="We will call you in 10 minutes.",
            dedupe_key=key,
            now=now,
        )
        session.commit()
    return added


def outbox_row(engine: Engine) -> Outbox:
    with Session(engine.db.engine) as session:
        return session.execute(select(Outbox)).scalar_one()


def deliver(engine: Engine, sender: RecordingSender, now: datetime):  # type: ignore[no-untyped-def]
    return asyncio.run(send_due(engine.db, engine.vault, {"sms": sender}, now))


def test_a_queued_text_is_sent_once_and_recorded(engine: Engine) -> None:
    now = datetime.now(UTC)
    assert queue(engine, now) and not queue(engine, now)  # the same occasion queues once
    sender = RecordingSender(Sent("SM123", 1, "GSM-7"))
    assert deliver(engine, sender, now).sent == 1
    assert sender.calls == [(NUMBER, "We will call you in 10 minutes.")]
    assert deliver(engine, sender, now + timedelta(hours=1)).sent == 0
    assert len(sender.calls) == 1
    row = outbox_row(engine)
    assert row.status == "sent" and row.attempts == 1
    with Session(engine.db.engine) as session:
        [record] = session.execute(select(OutboundMessage)).scalars().all()
    assert (record.provider_id, record.segments, record.encoding) == ("SM123", 1, "GSM-7")
    assert record.outbox_id == row.id


def test_surely_unsent_messages_are_retried_with_backoff_then_given_up(engine: Engine) -> None:
    now = datetime.now(UTC)
    queue(engine, now)
    sender = RecordingSender(*[SendDeferred("503")] * MAX_ATTEMPTS)
    moment = now
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert deliver(engine, sender, moment).deferred == 1
        row = outbox_row(engine)
        assert row.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert row.status == "pending" and row.last_error == "503"
            waited = row.next_attempt_at.replace(tzinfo=UTC) - moment
            assert waited >= timedelta(seconds=30)
            assert deliver(engine, sender, moment).deferred == 0  # not due yet
            moment = row.next_attempt_at.replace(tzinfo=UTC)
    assert outbox_row(engine).status == "failed"
    assert len(sender.calls) == MAX_ATTEMPTS


def test_retry_after_from_a_rate_limit_is_respected(engine: Engine) -> None:
    now = datetime.now(UTC)
    queue(engine, now)
    deliver(engine, RecordingSender(SendDeferred("429", retry_after=7200)), now)
    waited = outbox_row(engine).next_attempt_at.replace(tzinfo=UTC) - now
    assert waited >= timedelta(seconds=7200)


def test_an_unknown_failure_is_never_sent_again(engine: Engine) -> None:
    now = datetime.now(UTC)
    queue(engine, now)
    sender = RecordingSender(TimeoutError("read timed out"))
    assert deliver(engine, sender, now).failed == 1
    assert deliver(engine, sender, now + timedelta(days=1)).sent == 0
    assert len(sender.calls) == 1 and outbox_row(engine).status == "failed"


def test_an_opted_out_number_is_never_texted(engine: Engine) -> None:
    now = datetime.now(UTC)
    queue(engine, now)
    with Session(engine.db.engine) as session:
        record_opt_out(session, engine.vault, NUMBER, "keyword", now)
        session.commit()
    sender = RecordingSender()
    assert deliver(engine, sender, now).refused == 1
    assert sender.calls == [] and outbox_row(engine).last_error == "opted_out"


def test_carrier_opt_out_on_send_is_remembered(engine: Engine) -> None:
    now = datetime.now(UTC)
    queue(engine, now)
    assert deliver(engine, RecordingSender(SendRefused("21610", opted_out=True)), now).refused == 1
    with Session(engine.db.engine) as session:
        assert is_opted_out(session, engine.vault, NUMBER)
    queue(engine, now, key="text_before_call:FD-AAAA:2")
    later = RecordingSender()
    deliver(engine, later, now)
    assert later.calls == []


@pytest.mark.parametrize("channel", ["telegram"])
def test_channels_without_a_sender_wait(engine: Engine, channel: str) -> None:
    now = datetime.now(UTC)
    with Session(engine.db.engine) as session:
        enqueue(
            session,
            engine.vault,
            channel=channel,
            kind="staff_notice",
            address="-100123",
            text="Urgent callback FD-AAAA waiting",
            dedupe_key="staff:FD-AAAA",
            now=now,
        )
        session.commit()
    assert deliver(engine, RecordingSender(), now).sent == 0
    assert outbox_row(engine).status == "pending"
