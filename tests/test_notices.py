"""The text before a call goes only to people who said it is safe, once per
call, in their language, never to a number that opted out, and names its
request and a short expiry so the worker never sends it void."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from bot.engine import Engine
from bot.notices import queue_text_before_call
from bot.outbox import record_opt_out
from bot.settings import Settings
from bot.storage.binding import outbox_payload, request_details
from bot.storage.models import CallbackRequest, Outbox

NUMBER = "+447700900555"


def add_request(engine: Engine, text_first_ok: bool | None, language: str = "en") -> int:
    now = datetime.now(UTC)
    with Session(engine.db.engine) as session:
        request = CallbackRequest(
            reference="FD-TEST",
            person_key="someone",
            channel="sms",
            route="me",
            language=language,
            text_first_ok=text_first_ok,
            details_enc=engine.vault.seal({"phone": NUMBER}, request_details("FD-TEST")),
            created_at=now,
            updated_at=now,
            retain_until=now + timedelta(days=28),
        )
        session.add(request)
        session.commit()
        return request.id or 0


def queue(engine: Engine, request_id: int, occasion: str = "1") -> str:
    with Session(engine.db.engine) as session:
        request = session.get(CallbackRequest, request_id)
        assert request is not None
        outcome = queue_text_before_call(
            session, engine.content, engine.vault, request, occasion, datetime.now(UTC)
        )
        session.commit()
    return outcome


def queued_texts(engine: Engine) -> list[dict]:
    with Session(engine.db.engine) as session:
        rows = session.execute(select(Outbox)).scalars().all()
    return [engine.vault.open(row.payload_enc, outbox_payload(row.dedupe_key)) for row in rows]


@pytest.mark.parametrize("agreed", [False, None])
def test_nothing_is_queued_unless_the_person_agreed(engine: Engine, agreed: bool | None) -> None:
    assert queue(engine, add_request(engine, agreed)) == "not_agreed"
    assert queued_texts(engine) == []


def test_one_neutral_text_per_call_in_the_persons_language(engine: Engine) -> None:
    request_id = add_request(engine, True, language="pl")
    assert queue(engine, request_id) == "queued"
    assert queue(engine, request_id) == "already_queued"
    [payload] = queued_texts(engine)
    assert payload["address"] == NUMBER
    assert payload["text"] == engine.content.text("notices.text_before_call", "pl")
    assert "abuse" not in payload["text"].lower()
    assert queue(engine, request_id, occasion="2") == "queued"


def test_an_opted_out_number_gets_no_text(engine: Engine) -> None:
    request_id = add_request(engine, True)
    with Session(engine.db.engine) as session:
        record_opt_out(session, engine.vault, NUMBER, "keyword", datetime.now(UTC))
        session.commit()
    assert queue(engine, request_id) == "opted_out"
    assert queued_texts(engine) == []


def test_the_text_names_its_request_and_is_void_within_minutes(engine: Engine) -> None:
    request_id = add_request(engine, True)
    assert queue(engine, request_id) == "queued"
    with Session(engine.db.engine) as session:
        row = session.execute(select(Outbox)).scalar_one()
    assert row.request_id == request_id
    minutes = Settings().text_before_call_expiry_minutes
    assert minutes == 15
    assert row.expires_at - row.created_at == timedelta(minutes=minutes)


def test_a_request_no_longer_open_gets_no_text(engine: Engine) -> None:
    request_id = add_request(engine, True)
    with Session(engine.db.engine) as session:
        request = session.get(CallbackRequest, request_id)
        assert request is not None
        request.status = "cancelled"
        session.add(request)
        session.commit()
    assert queue(engine, request_id) == "not_open"
    assert queued_texts(engine) == []
