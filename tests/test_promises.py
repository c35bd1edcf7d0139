"""Promises the safety rules make that a deliberate breakage once slipped past.

Each test reads the stored truth (the sealed conversation row, the queue, the
log records, the database under overlapping transactions) rather than what
the next reply happens to say.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot.content.model import Content
from bot.dashboard import claims
from bot.dashboard import windows as win
from bot.engine import Engine
from bot.storage.binding import conversation_slots
from bot.storage.db import Database
from bot.storage.models import CallbackRequest, Conversation, StaffUser
from tests.conftest import Chat, clean, make_settings
from tests.dashboard_support import (
    Clock,
    add_user,
    app_with_clock,
    bot_store,
    make_request,
    signed_in,
)
from tests.sms_support import SmsChat, sms_engine
from tests.test_journeys import give_number, open_callback


def stored_slots(chat: Chat) -> dict[str, Any] | None:
    """The person's draft as stored, opened with the engine's vault (None: no row)."""
    vault = chat.engine.vault
    key = vault.person_key(chat.channel, chat.address)
    with chat.engine.db.session() as session:
        row = session.execute(
            select(Conversation).where(Conversation.person_key == key)
        ).scalar_one_or_none()
        session.commit()
    if row is None:
        return None
    return vault.open(row.slots_enc, conversation_slots(key))


# ----- EXIT forgets the unconfirmed answers -----------------------------------


def test_exit_forgets_the_unconfirmed_answers_in_the_stored_draft(chat: Chat) -> None:
    chat.start("me")
    open_callback(chat)
    give_number(chat)
    assert chat.key == "callback.when"
    before = stored_slots(chat)
    assert before and chat.address in json.dumps(before), "the draft holds the safe number"
    assert chat.keys("exit") == ["words.exit"]
    after = stored_slots(chat)
    kept = json.dumps(after or {})
    assert chat.address not in kept and chat.address[-6:] not in kept, "the number is forgotten"
    assert not set(after or {}) & set(before), f"answers left in the draft: {after}"
    # And nothing of the draft made it into a request: none existed yet.
    with chat.engine.db.session() as session:
        assert session.execute(select(CallbackRequest)).first() is None
        session.commit()


# ----- a cancelled request is never claimed or listed ----------------------------


@pytest.fixture
def dash_engine(db_url: str, tmp_path: Path, content: Content) -> Iterator[Engine]:
    """An engine with staff accounts, on SQLite and on PostgreSQL."""
    clean(db_url)
    engine = Engine(settings=make_settings(tmp_path, db_url), content=content)
    add_user(engine, "alice", "handler")
    add_user(engine, "sue", "supervisor")
    yield engine
    engine.db.dispose()


def cancel_as_the_person(engine: Engine, person: str, now: Any) -> None:
    """The person's own "Don't call me", through the bot's storage path."""
    with engine.db.session() as session:
        store = bot_store(engine, session, engine.vault.person_key("sms", person), now)
        assert store.cancel()
        session.commit()


def status_of(engine: Engine, reference: str) -> str:
    with engine.db.session() as session:
        found = session.execute(
            select(CallbackRequest.status).where(CallbackRequest.reference == reference)
        ).scalar_one()
        session.commit()
    return found


def test_a_cancelled_request_is_not_listed_and_cannot_be_claimed(dash_engine: Engine) -> None:
    clock = Clock()
    app = app_with_clock(dash_engine, clock)
    kept = make_request(dash_engine, clock.now, person="stays")
    gone = make_request(dash_engine, clock.now, priority=5, person="withdrew")
    cancel_as_the_person(dash_engine, "withdrew", clock.now)
    client, csrf = signed_in(app, "alice")

    queue = client.get("/dashboard").text
    assert kept in queue, "the control: an open request is listed"
    assert gone not in queue
    assert gone not in client.get("/dashboard/queue").text

    response = client.post(f"/dashboard/requests/{gone}/claim", data={"csrf_token": csrf})
    assert response.status_code == 409
    assert status_of(dash_engine, gone) == "cancelled"

    # Take next skips it although it is the most urgent, and takes the open one.
    response = client.post(
        "/dashboard/take-next", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert response.headers["location"] == f"/dashboard/requests/{kept}"
    assert status_of(dash_engine, kept) == "claimed"
    assert status_of(dash_engine, gone) == "cancelled"
    response = client.post(
        "/dashboard/take-next", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert "nothing=1" in response.headers["location"]
    assert status_of(dash_engine, gone) == "cancelled"


def test_a_cancellation_wins_over_a_claim_already_made(dash_engine: Engine) -> None:
    clock = Clock()
    app = app_with_clock(dash_engine, clock)
    reference = make_request(dash_engine, clock.now, person="withdrew")
    client, csrf = signed_in(app, "alice")
    client.post(f"/dashboard/requests/{reference}/claim", data={"csrf_token": csrf})
    assert status_of(dash_engine, reference) == "claimed"
    cancel_as_the_person(dash_engine, "withdrew", clock.now)
    assert status_of(dash_engine, reference) == "cancelled"
    assert reference not in client.get("/dashboard").text, "not in the queue nor in 'mine'"
    # Releasing it cannot put it back in the queue, even for a supervisor.
    sue, sue_csrf = signed_in(app, "sue")
    sue.post(f"/dashboard/requests/{reference}/release", data={"csrf_token": sue_csrf})
    assert status_of(dash_engine, reference) == "cancelled"
    with dash_engine.db.session() as session:
        staff = session.execute(select(StaffUser).where(StaffUser.name == "alice")).scalar_one()
        request_id = session.execute(
            select(CallbackRequest.id).where(CallbackRequest.reference == reference)
        ).scalar_one()
        assert claims.claim(session, request_id, staff, clock.now) is False
        hours = win.service_hours(dash_engine.content.data["service"])
        assert claims.take_next(session, staff, hours, clock.now, 3) is None
        session.commit()
    assert status_of(dash_engine, reference) == "cancelled"


# ----- the SMS webhook never logs who wrote or what -------------------------------


def test_the_sms_webhook_logs_neither_number_nor_text(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    number = "+447700900531"
    chat = SmsChat(sms_engine(engine), address=number)
    words = [
        "hello there",
        "1",
        "Zephyrine Quillworth",  # a name, as free text
        "he is at the door with a knife",  # danger: answered at once
        "my other number is 07700 900777",
        "exit",
    ]
    caplog.set_level(logging.DEBUG)
    for said in words:
        chat.send(said)
    chat.post("")  # an empty body, and an unsigned request, are logged too
    chat.client.post("/sms/inbound", data={"From": number, "Body": "unsigned Quillworth"})
    assert caplog.records, "the control: the webhook's path does log"
    secrets = [number, number[1:], number[-6:], "900777", "Zephyrine", "Quillworth", "knife"]
    for record in caplog.records:
        logged = " ".join(
            [record.getMessage(), str(record.args), record.exc_text or "", record.name]
        )
        for secret in secrets:
            assert secret not in logged, f"{record.name} logged {secret!r}: {logged[:200]}"


# ----- a claim is atomic under overlapping transactions (PostgreSQL) -------------


def _waiting_on_a_lock(url: str) -> bool:
    probe = Database(url)
    try:
        with probe.session() as session:
            waiting = session.execute(
                text(
                    "select count(*) from pg_stat_activity "
                    "where datname = current_database() and wait_event_type = 'Lock'"
                )
            ).scalar_one()
            session.commit()
    finally:
        probe.dispose()
    return bool(waiting)


def test_two_claims_racing_on_postgresql_exactly_one_wins(
    postgres_url: str, tmp_path: Path, content: Content
) -> None:
    """Both handlers start together (a barrier); the first holds its transaction
    open until the second is seen blocked on the row, then commits. A claim that
    read the status before writing it would let both win here."""
    clean(postgres_url)
    engine = Engine(settings=make_settings(tmp_path, postgres_url), content=content)
    add_user(engine, "alice", "handler")
    add_user(engine, "bob", "handler")
    clock = Clock()
    reference = make_request(engine, clock.now)
    with engine.db.session() as session:
        staff = list(session.execute(select(StaffUser).order_by(StaffUser.id)).scalars())
        request_id = session.execute(
            select(CallbackRequest.id).where(CallbackRequest.reference == reference)
        ).scalar_one()
        session.commit()
    databases = [Database(postgres_url), Database(postgres_url)]
    start = threading.Barrier(2, timeout=10)
    first_claimed = threading.Event()
    results: dict[str, bool] = {}
    errors: list[BaseException] = []
    saw_blocked: list[bool] = []

    def first() -> None:
        try:
            with databases[0].session() as session:
                start.wait()
                results["alice"] = claims.claim(session, request_id, staff[0], clock.now)
                first_claimed.set()
                deadline = time.monotonic() + 5
                while not _waiting_on_a_lock(postgres_url) and time.monotonic() < deadline:
                    time.sleep(0.02)
                saw_blocked.append(_waiting_on_a_lock(postgres_url))
                session.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            first_claimed.set()
            errors.append(error)

    def second() -> None:
        try:
            with databases[1].session() as session:
                start.wait()
                assert first_claimed.wait(10)
                results["bob"] = claims.claim(session, request_id, staff[1], clock.now)
                session.commit()
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        for database in databases:
            database.dispose()
    assert not errors, errors
    assert saw_blocked == [True], "the second claim really waited on the first's row lock"
    assert results == {"alice": True, "bob": False}
    with engine.db.session() as session:
        row = session.get(CallbackRequest, request_id)
        assert row is not None and row.status == "claimed" and row.claimed_by == staff[0].id
        session.commit()
    engine.db.dispose()
