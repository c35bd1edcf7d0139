"""WhatsApp through Twilio, end to end: signed webhooks in (POST /whatsapp/inbound),
TwiML out, delivery reports (POST /whatsapp/status), and the worker's sends
through Twilio's own client to a fake Twilio API on loopback
(tests/fake_twilio_api.py), on SQLite and PostgreSQL.

`WhatsAppChat` (tests/whatsapp_support.py) is the conftest `Chat` driven through
the real webhook: every turn checks that the TwiML carries exactly the WhatsApp
rendering of what the engine stored for that MessageSid, each part with its
delivery record.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from bot.channels.registry import channels
from bot.channels.whatsapp.send import WhatsAppSender
from bot.channels.whatsapp.setup import startup_line
from bot.engine import Engine
from bot.notices import queue_text_before_call
from bot.outbox import SendCounts, enqueue, send_due
from bot.storage import binding
from bot.storage.models import (
    CallbackRequest,
    Conversation,
    Outbox,
    SmsOptOut,
)
from bot.web.app import create_app
from bot.worker import build_senders, purge
from tests.dashboard_support import TUESDAY_10, add_user, app_with_clock, csrf_of, sign_in
from tests.fake_twilio_api import FakeTwilioState, Loopback, fake_twilio
from tests.sms_support import (
    BASE,
    deliveries,
    handled_replies,
    new_sid,
    post_signed,
    sms_engine,
    twiml_messages,
)
from tests.test_journeys import give_number, open_callback, requests
from tests.whatsapp_support import (
    NUMBER,
    TEMPLATE,
    WA_NUMBER,
    WA_SERVICE,
    WhatsAppChat,
    whatsapp_engine,
    whatsapp_params,
)


@pytest.fixture
def wa(engine: Engine) -> WhatsAppChat:
    chat = WhatsAppChat(whatsapp_engine(engine))
    chat.now = TUESDAY_10
    return chat


@pytest.fixture
def twilio() -> Iterator[FakeTwilioState]:
    with fake_twilio() as state:
        yield state


def deliver(engine: Engine, twilio: FakeTwilioState, now: datetime) -> SendCounts:
    sender = WhatsAppSender(engine.settings, http_client=Loopback(twilio.port))
    return asyncio.run(send_due(engine.db, engine.vault, {"whatsapp": sender}, now))


def outbox_rows(engine: Engine) -> list[Outbox]:
    with engine.db.session() as session:
        rows = list(session.execute(select(Outbox).order_by(Outbox.id)).scalars())
        session.commit()
    return rows


def make_request(wa: WhatsAppChat, text_first: bool = True) -> CallbackRequest:
    """A confirmed request from WhatsApp, "call this number", as soon as possible."""
    wa.start("me")
    open_callback(wa)
    give_number(wa)
    wa.pick("asap")
    wa.pick("skip_all")
    wa.pick("more")
    wa.send("no")  # voicemail
    wa.send("yes" if text_first else "no")  # a text before the call
    while wa.key != "callback.summary":
        wa.send("skip")
    wa.pick("looks_right")
    assert wa.key == "callback.confirmed"
    [request] = requests(wa)
    return request


def queue_before_call(engine: Engine, request: CallbackRequest, now: datetime) -> str:
    with Session(engine.db.engine) as session:
        found = session.get(CallbackRequest, request.id)
        assert found is not None
        said = queue_text_before_call(
            session, engine.content, engine.vault, found, "1", now, settings=engine.settings
        )
        session.commit()
    return said


# ----- the journey ------------------------------------------------------------------


def test_a_full_callback_journey_on_whatsapp_with_numbered_options(wa: WhatsAppChat) -> None:
    replies = wa.send("hi")
    assert [r.key for r in replies] == ["first_contact.greeting", "first_contact.safe_to_text"]
    assert "\n1 Yes, it's safe\n2 Not now\n3 I'm in danger" in wa.twiml
    request = make_request(wa)
    assert request.channel == "whatsapp" and request.complete and request.text_first_ok
    assert request.person_key == wa.engine.vault.person_key("whatsapp", NUMBER)
    secret = wa.engine.vault.open(request.details_enc, binding.request_details(request.reference))
    assert secret["phone"] == NUMBER  # "call this number": the number they write from
    assert request.reference in wa.last[-1].sms


def test_replies_keep_their_full_spelling_and_exit_says_how_to_delete_the_chat(
    wa: WhatsAppChat,
) -> None:
    wa.send("hi")
    wa.send("lang")
    polish = wa.send(str([o.id for o in wa.last[-1].options].index("pl") + 1))
    assert polish[0].locale == "pl"
    assert any(ch in wa.twiml for ch in "ąćęłńóśźż")  # never cut down to GSM-7 on WhatsApp
    replies = wa.send("exit")
    assert replies[-1].action == "quick_exit"
    advice = wa.engine.content.text("channels.whatsapp_delete", "pl")
    assert advice in wa.twiml and advice != wa.engine.content.text("channels.whatsapp_delete", "en")


def test_the_delete_advice_is_in_every_shipped_language(engine: Engine) -> None:
    english = engine.content.text("channels.whatsapp_delete", "en")
    assert "can't delete this chat for you" in english and "Disappearing messages" in english
    for locale in engine.settings.locales:
        if locale != "en":
            assert engine.content.text("channels.whatsapp_delete", locale) != english, locale


def test_a_replayed_message_sid_is_answered_once(wa: WhatsAppChat) -> None:
    sid = new_sid()
    first = wa.post("hi", sid)
    again = wa.post("hi", sid)
    assert first.status_code == again.status_code == 200 and first.text == again.text
    assert len(deliveries(wa.engine, sid)) == 1
    wa.send("yes")
    assert wa.key == "who.ask"
    # Captured and sent again days later, once the answer cache is purged:
    # nothing runs, nothing is said.
    before = conversation_state(wa.engine)
    wa.now = TUESDAY_10 + timedelta(days=3)
    purge(wa.engine.db, wa.engine.vault, wa.engine.settings, wa.now)
    assert handled_replies(wa.engine, "whatsapp", sid) is None
    late = wa.post("hi", sid)
    assert late.status_code == 200 and twiml_messages(late.text) == []
    assert conversation_state(wa.engine) == before


def conversation_state(engine: Engine) -> tuple[str, str, datetime]:
    with engine.db.session() as session:
        [row] = session.execute(select(Conversation)).scalars()
        session.commit()
    return row.flow, row.state, row.last_activity


def test_logs_never_hold_the_number_or_the_words(
    wa: WhatsAppChat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wa.send("hi")
    wa.send("he has a knife")
    wa.post("STOP")
    post_signed(wa.client, "/whatsapp/inbound", {**whatsapp_params("x"), "From": NUMBER})
    logged = caplog.text
    assert logged, "the check must see the logs"
    for secret in (NUMBER, NUMBER[1:], NUMBER[-6:], "knife", "STOP"):
        assert secret not in logged, secret


# ----- what is refused --------------------------------------------------------------


def test_unsigned_or_wrongly_signed_or_not_whatsapp_is_refused(wa: WhatsAppChat) -> None:
    params = whatsapp_params("hi")
    assert post_signed(wa.client, "/whatsapp/inbound", params, signature="bad").status_code == 403
    signed_for_sms = post_signed(wa.client, "/whatsapp/inbound", {**params, "From": NUMBER})
    assert signed_for_sms.status_code == 400  # an SMS number is not a WhatsApp address
    name = post_signed(wa.client, "/whatsapp/inbound", {**params, "From": "whatsapp:someone"})
    assert name.status_code == 400
    assert handled_replies(wa.engine, "whatsapp", params["MessageSid"]) is None


def test_pictures_and_locations_get_only_text_and_are_never_opened(wa: WhatsAppChat) -> None:
    wa.send("hi")
    picture = wa.post("", NumMedia="1", MediaUrl0="https://api.twilio.com/media/1")
    assert "I can only read text" in twiml_messages(picture.text)[0].body
    place = wa.post("", MessageType="location", Latitude="51.5", Longitude="0.7")
    assert "I can only read text" in twiml_messages(place.text)[0].body
    assert wa.key == "first_contact.safe_to_text"  # the conversation did not move


def test_stop_is_confirmed_by_us_then_silence_until_start(wa: WhatsAppChat) -> None:
    request = make_request(wa)
    stop = wa.post("STOP")
    assert "You won't get any more texts" in twiml_messages(stop.text)[0].body
    assert twiml_messages(wa.post("hello").text) == []
    assert queue_before_call(wa.engine, request, TUESDAY_10) == "opted_out"
    # The same number by SMS is another person, with its own choice.
    with wa.engine.db.session() as session:
        assert session.get(SmsOptOut, wa.engine.vault.person_key("sms", NUMBER)) is None
        session.commit()
    start = wa.post("START")
    assert "You can text us again" in twiml_messages(start.text)[0].body
    assert queue_before_call(wa.engine, request, TUESDAY_10) == "queued"


def test_delivery_reports_follow_each_reply_and_never_go_back(wa: WhatsAppChat) -> None:
    sid = new_sid()
    wa.post("hi", sid)
    [row] = deliveries(wa.engine, sid)
    path = f"/whatsapp/status?reply={row.id}"
    for status in ("sent", "delivered", "read", "sent"):
        report = {"MessageSid": "SM" + "b" * 32, "MessageStatus": status, "To": WA_NUMBER}
        assert post_signed(wa.client, path, report).status_code == 200
    [row] = deliveries(wa.engine, sid)
    assert (row.status, row.provider_id) == ("read", "SM" + "b" * 32)
    failed = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "failed", "ErrorCode": "63016"}
    assert post_signed(wa.client, path, failed, signature="forged").status_code == 403
    assert post_signed(wa.client, path, failed).status_code == 200
    assert deliveries(wa.engine, sid)[0].error_code == "63016"


# ----- the 24-hour window and templates ---------------------------------------------


def queue_free_form(engine: Engine, now: datetime, key: str = "later:1") -> None:
    """A message Front Door starts of a kind with no template (as a worker's
    later line would be), addressed by the number as the engine knows it."""
    with Session(engine.db.engine) as session:
        enqueue(
            session,
            engine.vault,
            channel="whatsapp",
            kind="later_message",
            address=NUMBER,
            text="Hello again, this is the worker you spoke with.",
            dedupe_key=key,
            now=now,
            person_key=engine.vault.person_key("whatsapp", NUMBER),
            expires_at=now + timedelta(days=3),
        )
        session.commit()


def test_inside_the_24_hours_a_free_form_message_goes(
    wa: WhatsAppChat, twilio: FakeTwilioState
) -> None:
    wa.send("hi")
    later = TUESDAY_10 + timedelta(hours=23)
    queue_free_form(wa.engine, later)
    assert deliver(wa.engine, twilio, later).sent == 1
    [received] = twilio.reached()
    assert received.form["To"] == WA_NUMBER and received.form["From"] == WA_SERVICE
    assert received.body == "Hello again, this is the worker you spoke with."
    assert "ContentSid" not in received.form
    assert received.form["StatusCallback"] == f"{BASE}/whatsapp/status"


def test_after_the_24_hours_a_free_form_message_is_void_not_sent(
    wa: WhatsAppChat, twilio: FakeTwilioState
) -> None:
    wa.send("hi")
    later = TUESDAY_10 + timedelta(hours=24, minutes=1)
    queue_free_form(wa.engine, later)
    counts = deliver(wa.engine, twilio, later)
    assert counts.sent == 0 and counts.reasons == {"outside_whatsapp_window": 1}
    assert twilio.received == []
    [row] = outbox_rows(wa.engine)
    assert (row.status, row.last_error) == ("void", "outside_whatsapp_window")


def test_twilio_down_is_retried_and_its_own_window_refusal_is_final(
    wa: WhatsAppChat, twilio: FakeTwilioState
) -> None:
    wa.send("hi")
    now = TUESDAY_10 + timedelta(hours=1)
    queue_free_form(wa.engine, now, key="later:1")
    twilio.fail_next(503, 20500)
    assert deliver(wa.engine, twilio, now).deferred == 1
    assert deliver(wa.engine, twilio, now + timedelta(minutes=1)).sent == 1
    queue_free_form(wa.engine, now, key="later:2")
    twilio.fail_next(400, 63016)  # Twilio's own 24-hour check
    assert deliver(wa.engine, twilio, now + timedelta(minutes=2)).refused == 1
    assert deliver(wa.engine, twilio, now + timedelta(hours=2)).refused == 0
    assert [r.answered for r in twilio.received] == ["503", "accepted", "400"]
    assert outbox_rows(wa.engine)[-1].last_error == "63016"


def test_the_text_before_a_call_goes_as_its_approved_template(
    wa: WhatsAppChat, twilio: FakeTwilioState
) -> None:
    request = make_request(wa)
    # Two days on, far outside the window: a template may still go.
    now = TUESDAY_10 + timedelta(days=2)
    assert queue_before_call(wa.engine, request, now) == "queued"
    [row] = outbox_rows(wa.engine)
    assert (row.channel, row.person_key) == ("whatsapp", request.person_key)
    assert deliver(wa.engine, twilio, now + timedelta(minutes=1)).sent == 1
    [received] = twilio.reached()
    assert received.form["ContentSid"] == TEMPLATE and "Body" not in received.form
    assert received.form["To"] == WA_NUMBER and received.form["From"] == WA_SERVICE
    assert deliver(wa.engine, twilio, now + timedelta(minutes=2)).sent == 0
    assert len(twilio.received) == 1  # once, never again


def test_without_a_template_the_text_before_a_call_is_never_sent_free_form(
    engine: Engine, twilio: FakeTwilioState
) -> None:
    wa = WhatsAppChat(whatsapp_engine(engine))
    wa.now = TUESDAY_10
    request = make_request(wa)
    untemplated = whatsapp_engine(engine, whatsapp_text_before_call_content_sid="")
    # The handler is told at once, and nothing is queued...
    assert queue_before_call(untemplated, request, TUESDAY_10) == "no_whatsapp_template"
    assert outbox_rows(engine) == []
    # ...and a row queued while a template was set is void once it is gone.
    assert queue_before_call(wa.engine, request, TUESDAY_10) == "queued"
    counts = deliver(untemplated, twilio, TUESDAY_10 + timedelta(minutes=1))
    assert counts.reasons == {"no_whatsapp_template": 1} and twilio.received == []


def test_a_person_who_did_not_agree_gets_no_text_before_the_call(wa: WhatsAppChat) -> None:
    request = make_request(wa, text_first=False)
    assert queue_before_call(wa.engine, request, TUESDAY_10) == "not_agreed"
    assert outbox_rows(wa.engine) == []


def test_the_dashboard_tells_the_handler_why_no_whatsapp_message_went(
    engine: Engine,
) -> None:
    untemplated = whatsapp_engine(engine, whatsapp_text_before_call_content_sid="")
    wa = WhatsAppChat(untemplated)
    wa.now = TUESDAY_10
    request = make_request(wa)
    add_user(untemplated, "alice", "handler")
    # Over https, as PUBLIC_BASE_URL says: the dashboard's cookies are Secure.
    client = TestClient(app_with_clock(untemplated, lambda: TUESDAY_10), base_url=BASE)
    assert sign_in(client, "alice").status_code == 303
    csrf = csrf_of(client.get("/dashboard").text)
    reference = request.reference
    claim = client.post(f"/dashboard/requests/{reference}/claim", data={"csrf_token": csrf})
    assert "You hold this request." in claim.text
    response = client.post(
        f"/dashboard/requests/{reference}/attempts",
        data={"csrf_token": csrf, "kind": "sent_text", "notes": ""},
    )
    assert response.status_code == 200
    assert "No message was sent: they wrote on WhatsApp" in response.text
    assert outbox_rows(engine) == []


# ----- switched on and off ----------------------------------------------------------


def test_whatsapp_is_off_until_its_sender_is_set(engine: Engine) -> None:
    sms_only = sms_engine(engine)
    assert "whatsapp" not in [p.name for p in channels() if p.sender(sms_only.settings)]
    assert "whatsapp" not in build_senders(sms_only.settings)
    assert startup_line(sms_only.settings).startswith("WhatsApp channel off")
    client = TestClient(create_app(sms_only))
    params = whatsapp_params("hi")
    assert post_signed(client, "/whatsapp/inbound", params).status_code == 404
    on = whatsapp_engine(engine)
    assert isinstance(build_senders(on.settings)["whatsapp"], WhatsAppSender)
    assert startup_line(on.settings) == "WhatsApp channel on at /whatsapp/inbound"
