"""A captured Twilio request replayed later runs nothing.

The 48-hour answer cache (handled messages with sealed replies) lets Twilio's
own retries get the same TwiML; after it is purged, a keyed hash of each
MessageSid, kept for 30 days with no content, still recognises a replay,
which gets an empty 200 and changes nothing at all.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.channels.sms import inbound as sms
from bot.engine import Engine
from bot.outbox import is_opted_out
from bot.storage.models import SeenMessageId
from bot.web.app import create_app
from bot.worker import purge
from tests.sms_support import (
    PERSON,
    inbound_params,
    new_sid,
    post_signed,
    sms_engine,
    snapshot,
    twiml_messages,
)


class Twilio:
    """Posts signed inbound texts and can post any of them again, unchanged."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.now = datetime.now(UTC)
        app = create_app(engine)
        app.dependency_overrides[sms.received_at] = lambda: self.now
        self.client = TestClient(app)
        self.sent: dict[str, dict] = {}

    def text(self, body: str, sender: str = PERSON) -> str:
        sid = new_sid()
        self.sent[sid] = inbound_params(body, sender, sid)
        return sid

    def post(self, sid: str) -> list[str]:
        response = post_signed(self.client, "/sms/inbound", self.sent[sid])
        assert response.status_code == 200
        return [m.body for m in twiml_messages(response.text)]

    def purge(self, after: timedelta) -> None:
        counts = purge(self.engine.db, self.engine.vault, self.engine.settings, self.now + after)
        assert not counts.failed_steps


@pytest.fixture
def twilio(engine: Engine) -> Twilio:
    return Twilio(sms_engine(engine))


def test_a_retry_within_the_answer_cache_gets_the_same_answer(twilio: Twilio) -> None:
    sid = twilio.text("hello")
    first = twilio.post(sid)
    assert first and twilio.post(sid) == first


def test_a_replay_after_the_answer_cache_is_purged_runs_nothing(twilio: Twilio) -> None:
    sid = twilio.text("hello")
    assert twilio.post(sid)
    twilio.post(twilio.text("1"))  # past the greeting: the conversation is kept
    twilio.purge(timedelta(hours=49))  # the answer cache is gone
    before = snapshot(twilio.engine)
    twilio.now += timedelta(hours=49)
    assert twilio.post(sid) == []  # an empty 200
    assert snapshot(twilio.engine) == before  # nothing ran, nothing stored


def test_a_replay_after_its_conversation_was_purged_runs_nothing(twilio: Twilio) -> None:
    sid = twilio.text("hello")
    assert twilio.post(sid)
    twilio.purge(timedelta(hours=2))  # a greeting-only conversation goes within hours
    before = snapshot(twilio.engine)
    twilio.now += timedelta(hours=2)
    assert twilio.post(sid) == []
    assert snapshot(twilio.engine) == before


def test_a_replayed_start_never_undoes_a_later_stop(twilio: Twilio) -> None:
    vault = twilio.engine.vault
    twilio.post(twilio.text("STOP"))
    start = twilio.text("START")
    twilio.post(start)
    twilio.post(twilio.text("STOP"))
    assert twilio.post(start) == []  # the captured START, replayed
    with twilio.engine.db.session() as session:
        assert is_opted_out(session, vault, PERSON)
        session.commit()


def test_only_a_keyed_hash_is_kept_for_30_days(twilio: Twilio) -> None:
    sid = twilio.text("hello")
    twilio.post(sid)
    with twilio.engine.db.session() as session:
        [key] = session.execute(select(SeenMessageId.key)).scalars()
        session.commit()
    assert len(key) == 64 and sid not in key
    twilio.purge(timedelta(days=29))
    dump = repr(snapshot(twilio.engine))
    assert sid not in dump and sid[2:] not in dump  # the answer cache is gone, the hash stays
    assert key in dump
    twilio.now += timedelta(days=29)
    assert twilio.post(sid) == []
    twilio.purge(timedelta(days=2))  # now 31 days after it was handled
    assert key not in repr(snapshot(twilio.engine))


def test_a_danger_answer_outside_the_cache_is_repeated_only_while_it_could_help(
    engine: Engine,
) -> None:
    twilio = Twilio(sms_engine(engine, sender_max_messages=1))
    twilio.post(twilio.text("hello"))
    danger = twilio.text("hes at the door")  # over the cap: answered, not stored
    [body] = twilio.post(danger)
    assert "999" in body
    twilio.now += timedelta(minutes=2)
    [again] = twilio.post(danger)  # Twilio's retry: the guidance again, never silence
    assert again.startswith(body[:40])
    before = snapshot(twilio.engine)
    twilio.now += timedelta(hours=49)
    assert twilio.post(danger) == []
    assert snapshot(twilio.engine) == before
