"""Floods, for real: one sender texting far too fast, and a crowd of new senders.

Through the signed SMS webhook and the Telegram webhook (against the fake Bot
API on loopback), on SQLite and PostgreSQL: a sender past the cap is told
calmly once, later messages are not run through the engine, EXIT still
works and a danger message still gets the 999 guidance. Conversations that
never got past the greeting are purged quickly; real ones are kept.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.channels.render import sms_text
from bot.channels.sms import inbound as sms
from bot.engine import Engine
from bot.storage.models import (
    CallbackRequest,
    Conversation,
    HandledMessage,
    SenderCount,
)
from bot.web.app import create_app
from bot.worker import purge
from tests.fake_bot_api import BOT_ID, FakeBotApi
from tests.sms_support import (
    PERSON,
    inbound_params,
    new_sid,
    post_signed,
    sms_engine,
    snapshot,
    stored_replies,
    twiml_messages,
)
from tests.telegram_driver import (
    next_update_id,
    post,
    telegram_engine,
    text_message,
    webhook_client,
)
from tests.telegram_driver import stored_replies as telegram_stored

CAP = 3


class Texter:
    """One number posting signed texts to /sms/inbound, at a clock the test moves."""

    def __init__(self, engine: Engine, sender: str = PERSON) -> None:
        self.engine, self.sender = engine, sender
        self.now = datetime.now(UTC)
        app = create_app(engine)
        app.dependency_overrides[sms.received_at] = lambda: self.now
        self.client = TestClient(app)

    def text(self, body: str) -> tuple[str, list[str]]:
        """Send one text: its MessageSid and the bodies of the TwiML answer."""
        sid = new_sid()
        response = post_signed(self.client, "/sms/inbound", inbound_params(body, self.sender, sid))
        assert response.status_code == 200
        return sid, [m.body for m in twiml_messages(response.text)]


@pytest.fixture
def capped(engine: Engine) -> Engine:
    return sms_engine(engine, sender_max_messages=CAP, sender_window_seconds=60)


def handled(engine: Engine, provider_id: str) -> bool:
    with engine.db.session() as session:
        found = session.execute(
            select(HandledMessage.id).where(HandledMessage.provider_id == provider_id)
        ).first()
        session.commit()
    return found is not None


def _notice(engine: Engine, locale: str = "en") -> str:
    return engine.content.text("channels.too_many", locale)


def _flood(texter: Texter) -> None:
    """Up to the cap: every message is run and answered."""
    for body in ("hi", "what", "ok")[:CAP]:
        sid, bodies = texter.text(body)
        assert bodies and stored_replies(texter.engine, sid) is not None


def test_a_flooding_sender_is_told_once_and_later_messages_are_not_run(capped: Engine) -> None:
    texter = Texter(capped)
    _flood(texter)
    with capped.db.session() as session:
        before = session.execute(select(Conversation.flow, Conversation.state)).one()
        session.commit()
    sid, bodies = texter.text("hello??")
    assert bodies == [_notice(capped)]  # the calm notice, once
    assert stored_replies(capped, sid) is None  # not run through the engine
    for body in ("1", "hello", "anyone there"):
        texter.now += timedelta(seconds=5)
        sid, bodies = texter.text(body)
        assert bodies == [] and stored_replies(capped, sid) is None
    with capped.db.session() as session:
        after = session.execute(select(Conversation.flow, Conversation.state)).one()
        handled = session.execute(select(func.count()).select_from(HandledMessage)).scalar_one()
        session.commit()
    assert after == before and handled == CAP


def test_a_danger_message_in_the_flood_still_gets_the_999_guidance(capped: Engine) -> None:
    texter = Texter(capped)
    _flood(texter)
    texter.text("hello")  # told to slow down
    sid, [body] = texter.text("hes at the door")
    assert "999" in body and "55" in body and "emergencySMS" in body
    assert stored_replies(capped, sid) is None
    _sid, [polish] = texter.text("pomocy on mnie bije")  # in the language it was written in
    assert polish == sms_text(capped.content.reply("words.danger", "pl", options=[]))
    texter.now += timedelta(seconds=50)
    assert texter.text("ok")[1] == []  # still slowed, the danger answers changed nothing


def test_the_first_message_over_the_cap_that_reads_as_danger_gets_both(capped: Engine) -> None:
    texter = Texter(capped)
    _flood(texter)
    _sid, [body] = texter.text("he has a knife help")
    assert body.index("999") < body.index(_notice(capped)[:30])  # the guidance first


def test_exit_still_works_in_a_flood(capped: Engine) -> None:
    texter = Texter(capped)
    _flood(texter)
    texter.text("hello")
    sid, bodies = texter.text("EXIT")
    assert bodies and [r.key for r in stored_replies(capped, sid) or []] == ["words.exit"]


def test_the_window_passes_and_the_sender_is_answered_but_told_only_once_an_hour(
    capped: Engine,
) -> None:
    texter = Texter(capped)
    _flood(texter)
    assert texter.text("x")[1] == [_notice(capped)]
    texter.now += timedelta(seconds=61)
    sid, bodies = texter.text("hello")
    assert bodies and stored_replies(capped, sid) is not None  # slowed, not shut out
    for body in ("a", "b"):
        texter.text(body)
    assert texter.text("c")[1] == []  # over again within the hour: no second notice
    texter.now += timedelta(hours=1, seconds=1)
    for body in ("a", "b", "c"):
        texter.text(body)
    assert texter.text("d")[1] == [_notice(capped)]


def test_senders_are_counted_apart_by_keyed_hash_never_by_number(capped: Engine) -> None:
    flooder, other = Texter(capped), Texter(capped, "+447700900456")
    _flood(flooder)
    assert flooder.text("x")[1] == [_notice(capped)]
    sid, bodies = other.text("hi")
    assert bodies and stored_replies(capped, sid) is not None
    with capped.db.session() as session:
        keys = set(session.execute(select(SenderCount.person_key)).scalars())
        session.commit()
    assert keys == {
        capped.vault.person_key("sms", PERSON),
        capped.vault.person_key("sms", "+447700900456"),
    }
    dump = repr(snapshot(capped))
    assert "7700900123" not in dump and "7700900456" not in dump


# ----- Telegram -----------------------------------------------------------------------
def test_a_flooding_telegram_chat_is_told_once_and_danger_still_answered(
    engine: Engine, tmp_path: Path, fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.channels.telegram import client as telegram

    monkeypatch.setattr(telegram, "PER_CHAT_RATE", 1000.0)  # the fake never rate-limits here
    tg = telegram_engine(engine, tmp_path, fake, sender_max_messages=CAP)
    chat_id = 7_600_001

    def say(text: str) -> tuple[int, list[str]]:
        update = {"update_id": next_update_id(), "message": text_message(fake, chat_id, text)}
        mark = fake.mark()
        assert post(client, update) == 200
        return update["update_id"], [c.params["text"] for c in fake.since(mark, "sendMessage")]

    with webhook_client(tg) as client:
        for text in ("hi", "what", "ok"):
            update_id, sent = say(text)
            assert sent and telegram_stored(tg, update_id)
        update_id, sent = say("hello??")
        assert sent == [_notice(tg)]
        assert not handled(tg, f"{BOT_ID}:{update_id}")  # not run: nothing stored
        assert say("anyone")[1] == []
        [guidance] = say("hes at the door")[1]
        assert "999" in guidance and "55" in guidance
        update_id, _sent = say("/exit")  # EXIT still wipes the chat
        assert [r.key for r in telegram_stored(tg, update_id)] == ["words.exit"]
        assert fake.alive[chat_id] == set()


# ----- a crowd of new senders ---------------------------------------------------------
def test_greeting_only_conversations_expire_quickly_and_real_ones_are_kept(
    capped: Engine,
) -> None:
    start = datetime.now(UTC)
    for n in range(25):  # a flood of new numbers, each saying hello once
        texter = Texter(capped, f"+4477009{n:05d}")
        texter.now = start
        texter.text("hello")
    real = Texter(capped, "+447700900777")  # got past the greeting
    real.now = start
    real.text("hello")
    real.text("1")
    waiting = Texter(capped, "+447700900888")  # back at the greeting, with an open request
    waiting.now = start
    waiting.text("hello")
    with capped.db.session() as session:
        session.add(
            CallbackRequest(
                reference="FD-TEST",
                person_key=capped.vault.person_key("sms", "+447700900888"),
                channel="sms",
                route="me",
                details_enc=b"not read by this purge",
                created_at=start,
                updated_at=start,
                retain_until=start + timedelta(days=28),
            )
        )
        session.commit()

    def conversations() -> int:
        with capped.db.session() as session:
            total = session.execute(select(func.count()).select_from(Conversation)).scalar_one()
            session.commit()
        return total

    assert conversations() == 27
    soon = purge(capped.db, capped.vault, capped.settings, start + timedelta(minutes=30))
    assert soon.stubs == 0 and conversations() == 27 and not soon.failed_steps
    later = purge(capped.db, capped.vault, capped.settings, start + timedelta(minutes=61))
    assert later.stubs == 25 and not later.failed_steps
    assert conversations() == 2
    with capped.db.session() as session:
        kept = set(session.execute(select(Conversation.person_key)).scalars())
        handled = session.execute(select(func.count()).select_from(HandledMessage)).scalar_one()
        session.commit()
    assert kept == {
        capped.vault.person_key("sms", "+447700900777"),
        capped.vault.person_key("sms", "+447700900888"),
    }
    assert handled == 3  # the kept conversations' own; the stubs' answers went with them


def test_flood_counters_of_quiet_senders_are_forgotten(capped: Engine) -> None:
    texter = Texter(capped)
    start = texter.now
    _flood(texter)
    assert (
        purge(capped.db, capped.vault, capped.settings, start + timedelta(minutes=30)).sender_counts
        == 0
    )
    counts = purge(capped.db, capped.vault, capped.settings, start + timedelta(hours=2))
    assert counts.sender_counts == 1 and not counts.failed_steps
