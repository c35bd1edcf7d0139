"""The outbox sends each queued message at most once, retries what surely did
not go, and never texts a number that opted out."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlmodel import Session

from bot.dashboard import attempts
from bot.dashboard import windows as win
from bot.engine import Engine
from bot.notices import queue_text_before_call
from bot.outbox import (
    MAX_ATTEMPTS,
    SendCounts,
    SendDeferred,
    SendRefused,
    Sent,
    enqueue,
    is_opted_out,
    record_opt_out,
    send_due,
)
from bot.storage.models import CallbackRequest, OutboundMessage, Outbox, StaffUser
from bot.storage.requests import RequestStore
from tests.dashboard_support import bot_store

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


def deliver(engine: Engine, sender: RecordingSender, now: datetime) -> SendCounts:
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


# ----- nothing void is sent ---------------------------------------------------------------
# A Tuesday, 10:00 in London (GMT in November): inside the service's callback hours.
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def add_request(engine: Engine, now: datetime = TUESDAY_10, **answers: object) -> CallbackRequest:
    """A confirmed request made through the bot's own RequestStore; returns it."""
    person = str(answers.pop("person", "person-1"))
    with engine.db.session() as session:
        store = bot_store(engine, session, engine.vault.person_key("sms", person), now)
        reference = store.create("me", {"phone": NUMBER, "text_first": True, **answers}, 0)
        session.commit()
        return session.execute(
            select(CallbackRequest).where(CallbackRequest.reference == reference)
        ).scalar_one()


def queue_before_call(
    engine: Engine, request_id: int, now: datetime = TUESDAY_10, minutes: int = 15
) -> str:
    """The dashboard's "send our text before calling", through bot/notices.py."""
    with engine.db.session() as session:
        request = session.get(CallbackRequest, request_id)
        assert request is not None
        outcome = queue_text_before_call(
            session,
            engine.content,
            engine.vault,
            request,
            str(now.timestamp()),
            now,
            expires_in=timedelta(minutes=minutes),
        )
        session.commit()
    return outcome


def set_status(engine: Engine, request_id: int, status: str) -> None:

    with engine.db.session() as session:
        session.execute(
            update(CallbackRequest).where(CallbackRequest.id == request_id).values(status=status)
        )
        session.commit()


def test_a_text_for_an_open_request_inside_its_safe_times_goes_once(engine: Engine) -> None:
    request = add_request(engine)
    assert queue_before_call(engine, request.id) == "queued"
    row = outbox_row(engine)
    assert row.request_id == request.id
    assert row.expires_at == TUESDAY_10 + timedelta(minutes=15)
    sender = RecordingSender()
    assert deliver(engine, sender, TUESDAY_10 + timedelta(minutes=1)).sent == 1
    assert deliver(engine, sender, TUESDAY_10 + timedelta(minutes=2)).sent == 0
    assert len(sender.calls) == 1 and sender.calls[0][0] == NUMBER


@pytest.mark.parametrize("status", ["closed", "cancelled"])
def test_a_text_for_a_request_no_longer_open_is_void(engine: Engine, status: str) -> None:
    request = add_request(engine)
    queue_before_call(engine, request.id)
    set_status(engine, request.id, status)  # changed by a path that left the row behind
    sender = RecordingSender()
    counts = deliver(engine, sender, TUESDAY_10 + timedelta(minutes=1))
    assert (counts.sent, counts.void, dict(counts.reasons)) == (0, 1, {f"request_{status}": 1})
    assert sender.calls == []
    row = outbox_row(engine)
    assert (row.status, row.last_error) == ("void", f"request_{status}")


def test_a_text_whose_request_is_gone_is_void(engine: Engine) -> None:

    request = add_request(engine)
    queue_before_call(engine, request.id)
    with engine.db.session() as session:
        session.execute(delete(CallbackRequest))
        session.commit()
    sender = RecordingSender()
    assert deliver(engine, sender, TUESDAY_10).reasons == {"request_gone": 1}
    assert sender.calls == []


def test_a_claimed_request_is_still_open(engine: Engine) -> None:
    request = add_request(engine)
    queue_before_call(engine, request.id)
    set_status(engine, request.id, "claimed")
    assert deliver(engine, RecordingSender(), TUESDAY_10).sent == 1


def test_a_text_past_its_expiry_is_void_even_after_retries(engine: Engine) -> None:
    request = add_request(engine)
    queue_before_call(engine, request.id)
    sender = RecordingSender(SendDeferred("503"), SendDeferred("503"))
    moment = TUESDAY_10
    assert deliver(engine, sender, moment).deferred == 1  # then 30 s to wait
    moment = outbox_row(engine).next_attempt_at
    assert deliver(engine, sender, moment).deferred == 1  # then 2 minutes
    counts = deliver(engine, sender, TUESDAY_10 + timedelta(minutes=15))
    assert (counts.sent, counts.void, dict(counts.reasons)) == (0, 1, {"expired": 1})
    assert len(sender.calls) == 2  # both failed attempts; nothing once it was void


@pytest.mark.parametrize(
    ("when", "answers"),
    [
        # 18:00 on a Tuesday: outside the service hours an "as soon as possible" request keeps to.
        (datetime(2026, 11, 24, 18, 0, tzinfo=UTC), {"asap": True}),
        # 10:00 on a Tuesday, but the person said Fridays only.
        (
            TUESDAY_10,
            {"asap": False, "windows": [{"day": "fri", "start": "09:00", "end": "12:00"}]},
        ),
    ],
)
def test_a_text_outside_the_persons_safe_times_is_void(
    engine: Engine, when: datetime, answers: dict
) -> None:
    request = add_request(engine, now=when, **answers)
    queue_before_call(engine, request.id, now=when)
    sender = RecordingSender()
    assert deliver(engine, sender, when).reasons == {"outside_safe_times": 1}
    assert sender.calls == []


def test_the_clock_is_read_again_before_each_send(engine: Engine) -> None:
    """A slow provider must not carry a later row past its expiry unnoticed."""
    for occasion in range(2):
        request = add_request(engine, person=f"p{occasion}")
        queue_before_call(engine, request.id)
    moments = iter([TUESDAY_10, TUESDAY_10 + timedelta(minutes=20)])
    sender = RecordingSender()
    counts = asyncio.run(
        send_due(engine.db, engine.vault, {"sms": sender}, TUESDAY_10, clock=lambda: next(moments))
    )
    assert (counts.sent, dict(counts.reasons)) == (1, {"expired": 1})
    assert len(sender.calls) == 1


def test_a_row_that_cannot_be_decrypted_is_void_and_the_rest_go(engine: Engine) -> None:
    now = datetime.now(UTC)
    queue(engine, now, key="a")
    queue(engine, now, key="b")
    with engine.db.session() as session:
        session.execute(
            update(Outbox).where(Outbox.dedupe_key == "a").values(payload_enc=b"\x00" * 40)
        )
        session.commit()
    sender = RecordingSender()
    counts = deliver(engine, sender, now)
    assert (counts.sent, dict(counts.reasons)) == (1, {"unreadable": 1})
    assert len(sender.calls) == 1
    assert deliver(engine, sender, now + timedelta(minutes=1)).sent == 0


def test_staff_notices_belong_to_no_request_and_still_go(engine: Engine) -> None:
    now = datetime.now(UTC)
    with Session(engine.db.engine) as session:
        enqueue(
            session,
            engine.vault,
            channel="telegram",
            kind="staff_notice",
            address="-100123",
            text="Urgent callback FD-AAAA waiting",
            dedupe_key="staff:FD-AAAA",
            now=now,
        )
        session.commit()
    row = outbox_row(engine)
    assert row.request_id is None and row.expires_at > now
    staff = RecordingSender()
    staff.channel = "telegram"
    assert deliver_to(engine, {"telegram": staff}, now).sent == 1
    assert staff.calls == [("-100123", "Urgent callback FD-AAAA waiting")]


def deliver_to(engine: Engine, senders: dict, now: datetime) -> SendCounts:
    return asyncio.run(send_due(engine.db, engine.vault, senders, now))


def test_cancelling_deletes_the_queued_text_in_the_same_transaction(engine: Engine) -> None:
    request = add_request(engine)
    queue_before_call(engine, request.id)

    def store(session: Session) -> RequestStore:
        return bot_store(engine, session, request.person_key, TUESDAY_10)

    with engine.db.session() as session:
        assert store(session).cancel()
        session.rollback()  # the person's message failed: nothing changed
    assert outbox_row(engine).status == "pending"
    with engine.db.session() as session:
        assert store(session).cancel()
        session.commit()
    with engine.db.session() as session:
        assert session.execute(select(Outbox)).scalars().all() == []
    sender = RecordingSender()
    assert deliver(engine, sender, TUESDAY_10).sent == 0 and sender.calls == []


def test_closing_from_the_dashboard_deletes_the_queued_text(engine: Engine) -> None:
    request = add_request(engine)
    queue_before_call(engine, request.id)
    with engine.db.session() as session:
        user = StaffUser(name="alice", role="handler", password_hash="x", created_at=TUESDAY_10)
        session.add(user)
        session.flush()
        found = session.get(CallbackRequest, request.id)
        assert found is not None
        found.status, found.claimed_by = "claimed", user.id
        result = attempts.record(
            session,
            engine.vault,
            found,
            user,
            kind="closed",
            outcome="support_given",
            notes="",
            call_back_local="",
            override_reason="",
            now=TUESDAY_10,
            hours=win.service_hours(engine.content.data["service"]),
        )
        assert result.ok
        session.commit()
    with engine.db.session() as session:
        assert session.execute(select(Outbox)).scalars().all() == []


def test_the_text_before_a_call_is_word_for_word_the_one_shown_at_the_question(
    engine: Engine,
) -> None:
    from tests.conftest import Chat
    from tests.test_journeys import give_number, open_callback

    chat = Chat(engine, address=NUMBER)
    chat.now = TUESDAY_10
    chat.start("me")
    open_callback(chat)
    give_number(chat)
    chat.pick("asap")
    chat.pick("skip_all")
    chat.pick("more")
    chat.send("skip")  # voicemail
    assert chat.key == "callback.text_first"
    shown = chat.last[-1].sms
    chat.pick("yes")
    chat.send("menu")  # stops here: the saved request already has "text first: yes"
    with Session(engine.db.engine) as session:
        [request] = session.execute(select(CallbackRequest)).scalars().all()
    assert request.text_first_ok is True
    assert queue_before_call(engine, request.id) == "queued"
    sender = RecordingSender()
    deliver(engine, sender, TUESDAY_10 + timedelta(minutes=1))
    [(to, sent)] = sender.calls
    assert to == NUMBER and f'"{sent}"' in shown
    assert "as you asked" not in sent and "safe" not in sent.lower()
