"""Nothing void is sent and nothing is sent twice, whatever breaks.

A fake Twilio API (tests/fake_twilio_api.py) serves real HTTP on loopback
and, on command, answers 503 or 429, drops the connection after reading a
send, or never answers. Twilio's
own client (through `SmsSender`) talks to it. Requests are cancelled in the
bot and closed on the dashboard while Twilio is down, rows are corrupted with
a direct UPDATE, and the clock is moved past expiries and out of the person's
safe times. Every time the fake proves what it received: no text once it was
void, and no text twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.channels.sms.send import SmsSender
from bot.content.model import Content
from bot.engine import Engine
from bot.outbox import SendCounts, callback_hours, send_due
from bot.settings import PROJECT_ROOT
from bot.storage.models import CallbackRequest, Conversation, Outbox
from bot.worker import Worker
from tests.dashboard_support import TUESDAY_10, bot_store
from tests.fake_twilio_api import FakeTwilioState, Loopback, fake_twilio
from tests.sms_support import sms_engine
from tests.test_dashboard import attempt, build, claimed
from tests.test_outbox import add_request, queue_before_call

NUMBER = "+447700900321"  # the number add_request gives every request


@pytest.fixture
def twilio() -> Iterator[FakeTwilioState]:
    with fake_twilio() as state:
        yield state


@pytest.fixture
def texting(engine: Engine) -> Engine:
    return sms_engine(engine)


def sender_for(engine: Engine, twilio: FakeTwilioState, timeout: float = 5) -> SmsSender:
    return SmsSender(engine.settings, http_client=Loopback(twilio.port, timeout))


def deliver(engine: Engine, sender: SmsSender, now: datetime) -> SendCounts:
    return asyncio.run(send_due(engine.db, engine.vault, {"sms": sender}, now))


def rows(engine: Engine) -> list[Outbox]:
    with engine.db.session() as session:
        return list(session.execute(select(Outbox).order_by(Outbox.id)).scalars())


def assert_only_once_and_only(twilio: FakeTwilioState, *allowed: str) -> None:
    """Every text that reached Twilio went to a number allowed one (nothing
    void went), and each number was reached at most once (nothing twice)."""
    reached = [r.to for r in twilio.reached()]
    assert sorted(reached) == sorted(set(reached)), "a text reached Twilio twice"
    assert set(reached) <= set(allowed), "a void text reached Twilio"


def cancel_in_the_bot(engine: Engine, request: CallbackRequest, now: datetime) -> None:
    """ "Don't call me": what the bot's my-request flow calls, in its own transaction."""
    with engine.db.session() as session:
        store = bot_store(engine, session, request.person_key, now)
        assert store.cancel()
        session.commit()


# ----- Twilio down, and the request changes meanwhile ------------------------------------------


def test_twilio_down_then_the_person_cancels_nothing_goes(
    texting: Engine, twilio: FakeTwilioState
) -> None:
    request = add_request(texting)
    assert queue_before_call(texting, request.id) == "queued"
    twilio.fail_next(503, 20500)
    sender = sender_for(texting, twilio)
    assert deliver(texting, sender, TUESDAY_10).deferred == 1
    cancel_in_the_bot(texting, request, TUESDAY_10 + timedelta(seconds=10))
    assert rows(texting) == []  # deleted with the cancellation
    for minutes in (1, 5, 14):
        counts = deliver(texting, sender, TUESDAY_10 + timedelta(minutes=minutes))
        assert counts == SendCounts()
    assert [r.answered for r in twilio.received] == ["503"]
    assert_only_once_and_only(twilio)


def test_twilio_down_then_the_handler_closes_the_request_nothing_goes(
    db_url: str, tmp_path: Path, content: Content, twilio: FakeTwilioState
) -> None:
    dash = build(db_url, tmp_path, content)
    try:
        client, csrf, reference = claimed(dash, text_first=True)
        queued = attempt(client, csrf, reference, kind="sent_text")
        assert "texted=queued" in queued.headers["location"]
        texting = sms_engine(dash.engine)
        sender = sender_for(texting, twilio)
        twilio.fail_next(503, 20500)
        assert deliver(texting, sender, dash.clock.now).deferred == 1
        closed = attempt(client, csrf, reference, kind="closed", outcome="support_given")
        assert closed.status_code == 303
        assert rows(texting) == []
        assert deliver(texting, sender, dash.clock.now + timedelta(minutes=3)) == SendCounts()
        assert len(twilio.received) == 1
        assert_only_once_and_only(twilio)
    finally:
        dash.engine.db.dispose()


def test_twilio_down_past_the_expiry_the_text_is_void(
    texting: Engine, twilio: FakeTwilioState
) -> None:
    request = add_request(texting)
    queue_before_call(texting, request.id)
    sender = sender_for(texting, twilio)
    moment = TUESDAY_10
    for _ in range(4):  # 503 each time, then 30 s, 2 min, 10 min, 30 min of backoff
        twilio.fail_next(503, 20500)
        assert deliver(texting, sender, moment).deferred == 1
        moment = rows(texting)[0].next_attempt_at
    assert moment > TUESDAY_10 + timedelta(minutes=15)
    counts = deliver(texting, sender, moment)  # Twilio is back, but too late
    assert (counts.sent, counts.void, dict(counts.reasons)) == (0, 1, {"expired": 1})
    assert [r.answered for r in twilio.received] == ["503"] * 4
    assert (rows(texting)[0].status, rows(texting)[0].last_error) == ("void", "expired")
    assert deliver(texting, sender, moment + timedelta(days=1)) == SendCounts()
    assert_only_once_and_only(twilio)


def test_rate_limited_until_the_safe_times_end_the_text_is_void(
    texting: Engine, twilio: FakeTwilioState
) -> None:
    """Twilio says "wait 10 minutes" at 16:55; at 17:05 the person's safe time
    (the service hours, as they asked "as soon as possible") is over."""
    at_1655 = datetime(2026, 11, 24, 16, 55, tzinfo=UTC)
    request = add_request(texting, now=at_1655, asap=True)
    queue_before_call(texting, request.id, now=at_1655)
    sender = sender_for(texting, twilio)
    twilio.fail_next(429, 20429, retry_after=600)
    assert deliver(texting, sender, at_1655).deferred == 1
    due = rows(texting)[0].next_attempt_at
    assert due == at_1655 + timedelta(minutes=10)
    counts = deliver(texting, sender, due)
    assert dict(counts.reasons) == {"outside_safe_times": 1} and counts.sent == 0
    assert [r.answered for r in twilio.received] == ["429"]
    assert_only_once_and_only(twilio)


# ----- a send whose answer is lost is never sent again --------------------------------------


@pytest.mark.parametrize("fault", ["drop", "hang"])
def test_an_answer_lost_mid_send_is_never_sent_again(
    texting: Engine, twilio: FakeTwilioState, fault: str
) -> None:
    request = add_request(texting)
    queue_before_call(texting, request.id)
    getattr(twilio, f"{fault}_next")()
    sender = sender_for(texting, twilio, timeout=0.5)
    counts = deliver(texting, sender, TUESDAY_10)
    assert counts.failed == 1  # it may have gone: never again
    for later in (timedelta(minutes=1), timedelta(minutes=10), timedelta(days=1)):
        assert deliver(texting, sender, TUESDAY_10 + later) == SendCounts()
    assert len(twilio.received) == 1 and rows(texting)[0].status == "failed"
    assert_only_once_and_only(twilio, NUMBER)  # the one send whose answer was lost


# ----- corrupt rows, and the worker's loop ------------------------------------------------------


def test_a_corrupt_row_is_void_the_others_go_once_and_the_worker_goes_on(
    texting: Engine, twilio: FakeTwilioState
) -> None:
    good = add_request(texting, person="good", phone="+447700900001")
    bad = add_request(texting, person="bad", phone="+447700900002")
    queue_before_call(texting, good.id)
    queue_before_call(texting, bad.id)
    with texting.db.session() as session:  # bytes no key can open
        session.execute(
            update(Outbox).where(Outbox.request_id == bad.id).values(payload_enc=b"\x00" * 48)
        )
        session.execute(update(Conversation).values(slots_enc=b"\x07garbage"))
        session.commit()
    clock = iter(TUESDAY_10 + timedelta(minutes=m) for m in range(0, 600))
    worker = Worker(
        texting.db,
        texting.vault,
        texting.settings,
        {"sms": sender_for(texting, twilio)},
        hours=callback_hours(PROJECT_ROOT / "content"),
        clock=lambda: next(clock),
    )
    first = worker.send_round()
    assert (first.sent, dict(first.reasons)) == (1, {"unreadable": 1})
    for _ in range(5):
        assert worker.send_round() == SendCounts()
        worker.purge_round()
    assert [(r.to, r.answered) for r in twilio.received] == [("+447700900001", "accepted")]
    assert_only_once_and_only(twilio, "+447700900001")
    statuses = {row.request_id: (row.status, row.last_error) for row in rows(texting)}
    assert statuses == {good.id: ("sent", None), bad.id: ("void", "unreadable")}


def test_corrupt_request_and_conversation_rows_are_purged_not_fatal(
    texting: Engine, twilio: FakeTwilioState
) -> None:
    request = add_request(texting)
    queue_before_call(texting, request.id)
    with texting.db.session() as session:
        session.execute(update(CallbackRequest).values(details_enc=b"\x00"))
        session.commit()
    worker = Worker(
        texting.db,
        texting.vault,
        texting.settings,
        {"sms": sender_for(texting, twilio)},
        hours=callback_hours(PROJECT_ROOT / "content"),
        clock=lambda: TUESDAY_10 + timedelta(days=29),
    )
    assert dict(worker.send_round().reasons) == {"expired": 1}
    counts = worker.purge_round()
    assert counts.failed_steps == [] and counts.requests == 1
    assert rows(texting) == [] and twilio.received == []
    assert_only_once_and_only(twilio)
