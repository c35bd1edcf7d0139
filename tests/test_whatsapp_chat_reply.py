"""A worker's live-chat reply on WhatsApp (issue 13), end to end: the person
writes through the signed webhook (POST /whatsapp/inbound), the worker answers
on the dashboard, and the outbox sends through Twilio's own client to the fake
Twilio API on loopback (tests/fake_twilio_api.py), on SQLite and PostgreSQL.

Inside WhatsApp's 24-hour window the reply goes free-form. After it, only when
the person agreed to later texts and WHATSAPP_CHAT_REPLY_CONTENT_SID is set,
the neutral notice template goes instead, and the worker's words follow when
the person replies; otherwise nothing goes and the chat page says why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.channels.whatsapp.send import WhatsAppSender
from bot.engine import Engine
from bot.outbox import SendCounts, send_due
from bot.storage.db import id_of
from bot.storage.models import ChatMessage, LiveChat
from tests.dashboard_support import TUESDAY_10, add_user, app_with_clock, csrf_of, sign_in
from tests.fake_twilio_api import FakeTwilioState, Loopback, fake_twilio
from tests.sms_support import BASE
from tests.whatsapp_support import NUMBER, WA_NUMBER, WhatsAppChat, whatsapp_engine

NOTICE = "HX" + "c" * 32  # the approved "You have a new message. Reply to read it."
EVENING = TUESDAY_10 + timedelta(hours=12)  # Tuesday 22:00 London: workers offline
THURSDAY_11 = TUESDAY_10 + timedelta(days=2, hours=1)  # two days on, in chat hours


@pytest.fixture
def twilio() -> Iterator[FakeTwilioState]:
    with fake_twilio() as state:
        yield state


def person(engine: Engine, now: datetime, **settings: object) -> WhatsAppChat:
    wa = WhatsAppChat(whatsapp_engine(engine, **settings))
    wa.now = now
    return wa


def deliver(engine: Engine, twilio: FakeTwilioState, now: datetime) -> SendCounts:
    sender = WhatsAppSender(engine.settings, http_client=Loopback(twilio.port))
    return asyncio.run(send_due(engine.db, engine.vault, {"whatsapp": sender}, now))


def the_chat(engine: Engine) -> LiveChat:
    key = engine.vault.person_key("whatsapp", NUMBER)
    with engine.db.session() as session:
        found = session.execute(select(LiveChat).where(LiveChat.person_key == key)).scalar_one()
        session.commit()
    return found


def worker_lines(engine: Engine) -> list[ChatMessage]:
    with engine.db.session() as session:
        rows = list(
            session.execute(
                select(ChatMessage).where(ChatMessage.author == "worker").order_by(ChatMessage.id)
            ).scalars()
        )
        session.commit()
    return rows


def leave_message(wa: WhatsAppChat) -> None:
    """Out of hours: texting later is safe, any time workers are online, a message."""
    wa.start("me")
    wa.pick("text_worker")
    assert wa.key == "live_chat.closed"
    wa.pick("yes")
    wa.pick("asap")
    assert wa.key == "live_chat.message"
    wa.send("Please text me about my options.")
    assert wa.key == "live_chat.left"


class Dashboard:
    """A signed-in worker at a fixed time: claim the chat, answer it, read its page."""

    def __init__(self, engine: Engine, now: datetime) -> None:
        add_user(engine, "alice", "handler")
        self.client = TestClient(app_with_clock(engine, lambda: now), base_url=BASE)
        assert sign_in(self.client, "alice").status_code == 303
        self.csrf = csrf_of(self.client.get("/dashboard").text)

    def answer(self, chat_id: int, text: str) -> int:
        base = f"/dashboard/conversations/{chat_id}"
        claimed = self.client.post(f"{base}/claim", data={"csrf_token": self.csrf})
        assert claimed.status_code == 200
        sent = self.client.post(
            f"{base}/reply", data={"csrf_token": self.csrf, "text": text}, follow_redirects=False
        )
        return sent.status_code

    def page(self, chat_id: int) -> str:
        return self.client.get(f"/dashboard/conversations/{chat_id}").text


def test_inside_the_window_the_reply_goes_free_form(
    engine: Engine, twilio: FakeTwilioState
) -> None:
    wa = person(engine, TUESDAY_10, whatsapp_chat_reply_content_sid=NOTICE)
    wa.start("me")
    wa.pick("text_worker")
    wa.pick("start")
    assert wa.keys("Hello, can someone talk?") == ["live_chat.received"]
    chat = the_chat(wa.engine)
    later = TUESDAY_10 + timedelta(minutes=3)
    assert Dashboard(wa.engine, later).answer(id_of(chat), "Hello, I'm Sam.") == 303
    assert deliver(wa.engine, twilio, later).sent == 1
    [received] = twilio.reached()
    assert received.form["To"] == WA_NUMBER and received.body == "Hello, I'm Sam."
    assert "ContentSid" not in received.form
    [line] = worker_lines(wa.engine)
    assert line.delivery == "sent"


def test_after_the_window_the_notice_goes_and_the_words_follow_the_reply(
    engine: Engine, twilio: FakeTwilioState
) -> None:
    wa = person(engine, EVENING, whatsapp_chat_reply_content_sid=NOTICE)
    leave_message(wa)
    chat = the_chat(wa.engine)
    assert chat.later_texts_ok and chat.is_message
    worker = Dashboard(wa.engine, THURSDAY_11)
    assert worker.answer(id_of(chat), "Hello, it's Sam. Is now a good time?") == 303
    # Two days on, WhatsApp's window is closed: only the approved notice goes.
    assert deliver(wa.engine, twilio, THURSDAY_11).sent == 1
    [notice] = twilio.reached()
    assert notice.form["ContentSid"] == NOTICE and "Body" not in notice.form
    assert "Sam" not in str(notice.form)
    [line] = worker_lines(wa.engine)
    assert line.delivery == "notified"
    page = worker.page(id_of(chat))
    assert 'data-why="notified"' in page and "Your words go to them as soon as they reply" in page
    assert deliver(wa.engine, twilio, THURSDAY_11 + timedelta(minutes=1)).sent == 0
    # The person replies: their message opens the window, and the words go. The
    # reply itself is for Sam (a message left is a conversation), so the bot is quiet.
    wa.now = THURSDAY_11 + timedelta(minutes=30)
    assert wa.post("hi").status_code == 200
    [line] = worker_lines(wa.engine)
    assert line.delivery == "queued"
    assert deliver(wa.engine, twilio, wa.now).sent == 1
    notice_again, words = twilio.reached()
    assert notice_again == notice
    assert words.body == "Hello, it's Sam. Is now a good time?" and "ContentSid" not in words.form
    [line] = worker_lines(wa.engine)
    assert line.delivery == "sent"
    assert wa.post("thanks").status_code == 200
    with wa.engine.db.session() as session:
        said = session.execute(
            select(ChatMessage.author)
            .where(ChatMessage.chat_id == id_of(chat))
            .order_by(ChatMessage.id)
        ).scalars()
        assert list(said) == ["person", "worker", "person", "person"], "both replies reach Sam"
        session.commit()
    assert deliver(wa.engine, twilio, wa.now + timedelta(minutes=1)).sent == 0
    assert len(twilio.reached()) == 2, "each sent once"


def test_exit_after_the_notice_means_the_words_never_go(
    engine: Engine, twilio: FakeTwilioState
) -> None:
    wa = person(engine, EVENING, whatsapp_chat_reply_content_sid=NOTICE)
    leave_message(wa)
    chat = the_chat(wa.engine)
    assert Dashboard(wa.engine, THURSDAY_11).answer(id_of(chat), "Hello, it's Sam.") == 303
    assert deliver(wa.engine, twilio, THURSDAY_11).sent == 1
    wa.now = THURSDAY_11 + timedelta(minutes=5)
    assert wa.keys("EXIT") == ["words.exit"]
    [line] = worker_lines(wa.engine)
    assert line.delivery == "failed"
    wa.send("hello")
    assert deliver(wa.engine, twilio, wa.now + timedelta(minutes=1)).sent == 0
    assert len(twilio.reached()) == 1, "only the notice ever went"


def test_without_the_template_nothing_goes_and_the_page_says_why(
    engine: Engine, twilio: FakeTwilioState
) -> None:
    wa = person(engine, EVENING, whatsapp_chat_reply_content_sid="")
    leave_message(wa)
    chat = the_chat(wa.engine)
    worker = Dashboard(wa.engine, THURSDAY_11)
    assert worker.answer(id_of(chat), "Hello, it's Sam.") == 303
    counts = deliver(wa.engine, twilio, THURSDAY_11)
    assert counts.sent == 0 and counts.reasons == {"no_whatsapp_template": 1}
    assert twilio.received == []
    [line] = worker_lines(wa.engine)
    assert line.delivery == "failed"
    page = worker.page(id_of(chat))
    assert 'data-why="no_whatsapp_template"' in page
    assert "no approved notice template is set" in page


def test_without_their_agreement_nothing_goes_and_the_page_says_why(
    engine: Engine, twilio: FakeTwilioState
) -> None:
    # A service that lets workers answer a live chat for two days: the person
    # never said later texts are safe, so after WhatsApp's 24 hours nothing goes.
    wa = person(
        engine,
        TUESDAY_10,
        whatsapp_chat_reply_content_sid=NOTICE,
        chat_reply_window_minutes=2 * 24 * 60,
    )
    wa.start("me")
    wa.pick("text_worker")
    wa.pick("start")
    wa.send("Hello, can someone talk?")
    chat = the_chat(wa.engine)
    assert not chat.later_texts_ok
    late = TUESDAY_10 + timedelta(hours=25)
    worker = Dashboard(wa.engine, late)
    assert worker.answer(id_of(chat), "Sorry for the wait. Are you safe?") == 303
    counts = deliver(wa.engine, twilio, late)
    assert counts.sent == 0 and counts.reasons == {"whatsapp_no_consent": 1}
    assert twilio.received == []
    page = worker.page(id_of(chat))
    assert 'data-why="whatsapp_no_consent"' in page
    assert "they did not say that texts later are safe" in page
