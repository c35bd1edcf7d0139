"""The SMS channel on its own: signatures, TwiML, retries, carrier words, media,
delivery reports and bad input, through the real /sms/inbound and /sms/status
endpoints on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlmodel import Session

from bot.channels.render import sms_text
from bot.channels.sms import inbound, setup, webhook
from bot.channels.sms import render as sms_replies
from bot.channels.sms.keywords import OPT_IN_WORDS, OPT_OUT_WORDS
from bot.channels.sms.render import MAX_MESSAGE_CHARS, message_bodies
from bot.engine import Engine
from bot.outbox import is_opted_out
from bot.storage.models import (
    Conversation,
    HandledMessage,
    OutboundMessage,
    SmsOptOut,
)
from bot.text import is_gsm7, normalise
from bot.types import Reply
from bot.web.app import create_app
from tests.sms_support import (
    BASE,
    PERSON,
    TOKEN,
    SmsChat,
    count,
    deliveries,
    inbound_params,
    new_sid,
    post_signed,
    sign,
    sms_engine,
    snapshot,
    stored_replies,
    twiml_messages,
)
from tests.test_bad_input import (  # noqa: F401 - collected and run through SMS
    test_a_number_out_of_range_says_which_numbers_work,
    test_control_characters_never_reach_stored_answers,
    test_free_text_too_long_is_refused_kindly,
    test_odd_replies_to_a_choice_are_answered_calmly,
)
from tests.test_global_words import into_callback


@pytest.fixture
def texting(engine: Engine) -> Engine:
    return sms_engine(engine)


@pytest.fixture
def chat(texting: Engine) -> SmsChat:
    return SmsChat(texting)


@pytest.fixture
def client(chat: SmsChat) -> TestClient:
    return chat.client


def text(client: TestClient, body: str, sender: str = PERSON, **extra: str):  # noqa: ANN201
    return post_signed(client, "/sms/inbound", inbound_params(body, sender, **extra))


def bodies(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    return [m.body for m in twiml_messages(response.text)]


def notice_text(engine: Engine, key: str) -> str:
    return sms_text(engine.notice("sms", PERSON, key))


# ----- signatures ------------------------------------------------------------


def test_a_signed_text_is_answered_with_one_twiml_message(chat: SmsChat) -> None:
    replies = chat.send("hi")
    [message] = chat.messages
    assert [r.key for r in replies] == ["first_contact.greeting", "first_contact.safe_to_text"]
    greeting, question = message.body.split("\n\n")
    assert greeting == replies[0].sms
    assert question.splitlines()[1:] == [
        f"{n} {o.label}" for n, o in enumerate(replies[1].options, 1)
    ]
    assert is_gsm7(message.body)


@pytest.mark.parametrize(
    "forgery",
    ["missing", "wrong", "other_token", "app_url", "tampered", "not_form"],
)
def test_a_forged_request_is_refused_and_changes_nothing(
    chat: SmsChat, texting: Engine, forgery: str
) -> None:
    chat.send("hi")
    before = snapshot(texting)
    params = inbound_params("1")
    signature = {
        "missing": "",
        "wrong": "c2lnbmF0dXJlIHRoYXQgaXMgbm90IHJpZ2h0",
        "other_token": sign("/sms/inbound", params, token="another-accounts-token"),
        "app_url": sign("/sms/inbound", params, base="http://testserver"),
        "tampered": sign("/sms/inbound", {**params, "Body": "3"}),
        "not_form": sign("/sms/inbound", params),
    }[forgery]
    headers = {"Content-Type": "application/json"} if forgery == "not_form" else None
    response = post_signed(
        chat.client, "/sms/inbound", params, signature=signature, headers=headers
    )
    assert response.status_code == 403
    assert "Twilio" not in response.text and "signature" not in response.text.lower()
    assert snapshot(texting) == before


def test_without_a_public_address_every_request_is_refused(engine: Engine) -> None:
    texting = sms_engine(engine, public_base_url="")
    client = TestClient(create_app(texting))
    before = snapshot(texting)
    response = text(client, "hi")
    assert response.status_code == 403
    assert snapshot(texting) == before


def test_the_signature_covers_the_query_string(chat: SmsChat) -> None:
    params = inbound_params("hi")
    path = "/sms/inbound?source=number-1"
    assert post_signed(chat.client, path, params).status_code == 200
    signed_without = sign("/sms/inbound", params)
    refused = post_signed(chat.client, path, inbound_params("hi"), signature=signed_without)
    assert refused.status_code == 403


def test_a_huge_body_is_refused_before_it_is_read(chat: SmsChat, texting: Engine) -> None:
    before = snapshot(texting)
    params = inbound_params("x" * 70_000)
    assert post_signed(chat.client, "/sms/inbound", params).status_code == 403
    assert snapshot(texting) == before


def test_a_body_that_is_not_utf8_is_refused(chat: SmsChat, texting: Engine) -> None:
    before = snapshot(texting)
    body = urlencode(inbound_params("hi")).replace("Body=hi", "Body=%FF%FEhi")
    response = chat.client.post(
        "/sms/inbound",
        content=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": sign("/sms/inbound", inbound_params("hi")),
        },
    )
    assert response.status_code == 403
    assert snapshot(texting) == before


# ----- retries ---------------------------------------------------------------


def test_a_retried_delivery_gets_the_same_twiml_and_changes_nothing(
    chat: SmsChat, texting: Engine
) -> None:
    chat.send("hi")
    sid = new_sid()
    first = chat.post("1", sid)
    assert first.status_code == 200
    after_first = snapshot(texting)
    again = chat.post("1", sid)
    assert again.text == first.text
    assert snapshot(texting) == after_first
    chat.send("2")  # the conversation moves on...
    moved_on = snapshot(texting)
    later = chat.post("1", sid)  # ...and a late retry still changes nothing
    assert later.text == first.text
    assert snapshot(texting) == moved_on


def chat_last_sid(engine: Engine) -> str:
    with Session(engine.db.engine) as session:
        query = select(HandledMessage.provider_id).order_by(HandledMessage.id.desc()).limit(1)
        return session.execute(query).scalar_one()


def test_another_number_cannot_replay_someone_elses_answer(chat: SmsChat, texting: Engine) -> None:
    sid = new_sid()
    mine = chat.post("hi", sid)
    theirs = text(chat.client, "hi", sender="+447700900555", MessageSid=sid, SmsMessageSid=sid)
    assert bodies(theirs) != bodies(mine)
    assert bodies(theirs) == [sms_text(texting.error_reply())]


def test_a_long_answer_is_split_in_order_and_each_part_recorded(texting: Engine) -> None:
    replies = [
        Reply(key=f"k{n}", sms=f"Part {n}. " + "word " * 150, rich="", locale="en")
        for n in range(6)
    ]
    parts = message_bodies(replies)
    assert len(parts) > 1 and all(len(p) <= MAX_MESSAGE_CHARS for p in parts)
    joined = " ".join(" ".join(parts).split())
    assert joined == " ".join(" ".join(sms_text(r) for r in replies).split())
    assert [joined.index(f"Part {n}.") for n in range(6)] == sorted(
        joined.index(f"Part {n}.") for n in range(6)
    )
    one_long = message_bodies([Reply(key="k", sms="y" * 4000, rich="", locale="en")])
    assert [len(p) for p in one_long] == [1600, 1600, 800]

    incoming = inbound.TextIn(PERSON, new_sid(), "hi", 0)
    now = inbound.received_at()
    answer = webhook._render(texting, incoming, replies, now)
    messages = twiml_messages(answer)
    assert [m.body for m in messages] == parts
    rows = deliveries(texting, incoming.message_sid)
    assert [r.in_reply_to for r in rows] == [incoming.message_sid] + [
        f"{incoming.message_sid}#{n}" for n in range(2, len(parts) + 1)
    ]
    assert webhook._render(texting, incoming, replies, now) == answer  # a retry: same rows
    assert len(deliveries(texting, incoming.message_sid)) == len(parts)


# ----- answering options -----------------------------------------------------


@pytest.mark.parametrize("answer", ["1", "Yes", "yes pls", "Yse", " YES! "])
def test_an_option_by_number_label_or_misspelt_synonym(chat: SmsChat, answer: str) -> None:
    chat.send("hi")
    chat.send(answer)
    assert chat.key == "who.ask"


def test_polish_replies_travel_as_plain_gsm7(chat: SmsChat, texting: Engine) -> None:
    chat.send("hi")
    chat.send("LANG")
    chat.send(str(chat.option_ids().index("pl") + 1))
    assert chat.last[-1].locale == "pl"
    assert any(not is_gsm7(r.rich) for r in chat.last)  # the content has Polish letters...
    assert all(is_gsm7(m.body) for m in chat.messages)  # ...the texts are GSM-7
    rows = deliveries(texting, chat_last_sid(texting))
    assert [r.encoding for r in rows] == ["GSM-7"]


# ----- carrier words ---------------------------------------------------------


@pytest.mark.parametrize(
    "word", ["STOP", "stop", " Stop. ", "STOPALL", "Unsubscribe", "cancel", "END", "quit!"]
)
def test_stop_words_opt_out_and_twilio_confirms(chat: SmsChat, texting: Engine, word: str) -> None:
    chat.send("hi")
    conversation = snapshot(texting)["conversations"]
    handled = count(texting, HandledMessage)
    assert bodies(text(chat.client, word)) == []
    with Session(texting.db.engine) as session:
        assert is_opted_out(session, texting.vault, PERSON)
        assert session.get(SmsOptOut, texting.vault.person_key("sms", PERSON)).source == "keyword"
    assert count(texting, HandledMessage) == handled  # the engine never saw it
    assert snapshot(texting)["conversations"] == conversation


def test_an_opted_out_number_gets_nothing_until_start(chat: SmsChat, texting: Engine) -> None:
    chat.send("hi")
    text(chat.client, "STOP")
    before = snapshot(texting)
    for word in ("hello", "1", "help me now", "EXIT"):
        assert bodies(text(chat.client, word)) == []
    after = snapshot(texting)
    seen = after.pop("seen_message_ids")  # only their MessageSids' hashes, so no replay runs
    before.pop("seen_message_ids")
    assert after == before and len(seen) == 6  # nothing handled, nothing else recorded
    assert bodies(text(chat.client, "start")) == []  # Twilio sends its own confirmation
    with Session(texting.db.engine) as session:
        assert not is_opted_out(session, texting.vault, PERSON)
    chat.send("1")
    assert chat.key == "who.ask"  # the conversation carries on where it was


def test_without_twilio_opt_out_handling_we_confirm_stop_and_start(engine: Engine) -> None:
    texting = sms_engine(engine, twilio_handles_opt_out=False)
    client = SmsChat(texting).client
    assert bodies(text(client, "STOP")) == [notice_text(texting, "channels.opted_out")]
    assert bodies(text(client, "anything")) == []
    assert bodies(text(client, "Yes")) == [notice_text(texting, "channels.opted_in")]
    with Session(texting.db.engine) as session:
        assert not is_opted_out(session, texting.vault, PERSON)


def test_twilios_own_keyword_match_counts_in_any_language(chat: SmsChat, texting: Engine) -> None:
    """Advanced Opt-Out may be set up with more words (e.g. Polish "KONIEC"); Twilio
    then says which kind it matched in OptOutType."""
    chat.send("hi")
    assert bodies(text(chat.client, "KONIEC", OptOutType="STOP")) == []
    with Session(texting.db.engine) as session:
        assert is_opted_out(session, texting.vault, PERSON)
    assert bodies(text(chat.client, "hi")) == []
    assert bodies(text(chat.client, "WZNOW", OptOutType="START")) == []
    with Session(texting.db.engine) as session:
        assert not is_opted_out(session, texting.vault, PERSON)


def test_yes_and_start_are_answers_when_not_opted_out(chat: SmsChat) -> None:
    assert chat.keys("START") == ["first_contact.greeting", "first_contact.safe_to_text"]
    chat.send("yes")
    assert chat.key == "who.ask"


def test_stop_inside_a_sentence_is_not_an_opt_out(chat: SmsChat, texting: Engine) -> None:
    chat.send("please make it stop")
    with Session(texting.db.engine) as session:
        assert not is_opted_out(session, texting.vault, PERSON)


@pytest.mark.parametrize("word", ["HELP", "info", "Info."])
def test_help_and_info_get_the_services_help_text(chat: SmsChat, word: str) -> None:
    assert [r.key for r in chat.send(word)][0] == "words.help"
    into_callback(chat)
    assert [r.key for r in chat.send(word)] == ["words.help", "callback.days"]
    assert "999" in chat.last[0].sms


# ----- media and empty messages ----------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def media_server():  # noqa: ANN201
    """A local address for MediaUrl0 that counts any attempt to fetch it."""
    _Recorder.hits = 0
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/photo.jpg"
    server.shutdown()
    server.server_close()


def test_a_picture_alone_gets_only_text_and_changes_nothing(
    chat: SmsChat, texting: Engine, media_server: str
) -> None:
    chat.send("hi")
    before = snapshot(texting)
    sid = new_sid("MM")
    response = text(
        chat.client,
        "",
        MessageSid=sid,
        SmsMessageSid=sid,
        NumMedia="1",
        MediaUrl0=media_server,
        MediaContentType0="image/jpeg",
    )
    assert bodies(response) == [notice_text(texting, "channels.only_text")]
    assert _Recorder.hits == 0  # never downloaded
    after = snapshot(texting)
    assert after["conversations"] == before["conversations"]
    assert after["handled_messages"] == before["handled_messages"]
    assert stored_replies(texting, sid) is None
    assert [r.in_reply_to for r in deliveries(texting, sid)] == [sid]
    assert text(chat.client, "", MessageSid=sid, SmsMessageSid=sid, NumMedia="1").text == (
        response.text
    )
    chat.send("1")
    assert chat.key == "who.ask"


def test_a_picture_with_words_answers_the_words_after_the_notice(
    chat: SmsChat, texting: Engine, media_server: str
) -> None:
    chat.send("hi")
    sid = new_sid("MM")
    response = text(
        chat.client, "Yes", MessageSid=sid, SmsMessageSid=sid, NumMedia="2", MediaUrl0=media_server
    )
    replies = stored_replies(texting, sid)
    assert [r.key for r in replies] == ["who.ask"]
    only_text = notice_text(texting, "channels.only_text")
    assert bodies(response) == [f"{only_text}\n\n{sms_text(replies[0])}"]
    assert _Recorder.hits == 0


def test_an_empty_text_gets_a_clear_answer(chat: SmsChat, texting: Engine) -> None:
    assert chat.keys("") == ["first_contact.greeting", "first_contact.safe_to_text"]
    replies = chat.send("   ")
    assert replies[0].key == "words.empty" and replies[-1].options
    params = inbound_params("")
    del params["Body"]
    response = post_signed(chat.client, "/sms/inbound", params)
    assert bodies(response) == [
        "\n\n".join(sms_text(r) for r in stored_replies(texting, params["MessageSid"]))
    ]
    assert stored_replies(texting, params["MessageSid"])[0].key == "words.empty"


# ----- bad input ---------------------------------------------------------------


@pytest.mark.parametrize("missing", ["From", "MessageSid"])
def test_a_signed_webhook_missing_a_field_is_refused_calmly(
    chat: SmsChat, texting: Engine, missing: str
) -> None:
    before = snapshot(texting)
    params = inbound_params("hi")
    del params[missing]
    if missing == "MessageSid":
        del params["SmsMessageSid"]
    response = post_signed(chat.client, "/sms/inbound", params)
    assert response.status_code == 400
    assert "Traceback" not in response.text
    assert snapshot(texting) == before


@pytest.mark.parametrize(
    "body",
    ["x" * 10_000, "🙂🙂🙂", "مرحبا Привет ąę", "\x00\x07\x1b[31m", "<Response/>&amp;", "\ufeff1"],
)
def test_odd_bodies_get_valid_twiml_and_a_calm_answer(chat: SmsChat, body: str) -> None:
    chat.start("me")
    replies = chat.send(body)
    assert replies[0].key.startswith("words.") and replies[0].key != "words.error"
    assert replies[-1].options


@pytest.mark.parametrize("sender", ["60123", "FrontDoor", "07700 900123", "+44 7700 900123"])
def test_a_sender_not_in_e164_is_answered_and_not_taken_for_a_callable_number(
    texting: Engine, sender: str
) -> None:
    chat = SmsChat(texting, address=sender)
    assert chat.keys("hi")[0] == "first_contact.greeting"
    assert inbound.is_phone_number(sender) is False


def test_e164_numbers_are_callable() -> None:
    assert inbound.is_phone_number("+447700900123") and inbound.is_phone_number("+14155550100")
    assert not inbound.is_phone_number("+1") and not inbound.is_phone_number("+abc")


# ----- delivery reports -------------------------------------------------------


def report(client: TestClient, reply_id: int | None, **params: str):  # noqa: ANN201
    path = "/sms/status" if reply_id is None else f"/sms/status?reply={reply_id}"
    return post_signed(client, path, {"AccountSid": "AC" + "0" * 32, **params})


def test_delivery_reports_record_the_state_of_each_reply(chat: SmsChat, texting: Engine) -> None:
    chat.send("hi")
    [row] = deliveries(texting, chat_last_sid(texting))
    out_sid = "SM" + "a" * 32
    for state in ("sent", "delivered", "sent"):  # a late "sent" never undoes "delivered"
        response = report(chat.client, row.id, MessageSid=out_sid, MessageStatus=state)
        assert response.status_code == 200 and twiml_messages(response.text) == []
    [row] = deliveries(texting, chat_last_sid(texting))
    assert (row.status, row.provider_id, row.error_code) == ("delivered", out_sid, None)
    report(chat.client, None, MessageSid=out_sid, MessageStatus="read")  # found by its sid
    [row] = deliveries(texting, chat_last_sid(texting))
    assert row.status == "read"


def test_error_21610_in_a_report_marks_the_number_opted_out(chat: SmsChat, texting: Engine) -> None:
    chat.send("hi")
    [row] = deliveries(texting, chat_last_sid(texting))
    report(
        chat.client,
        row.id,
        MessageSid="SM" + "b" * 32,
        MessageStatus="undelivered",
        ErrorCode="21610",
        To=PERSON,
    )
    [row] = deliveries(texting, chat_last_sid(texting))
    assert (row.status, row.error_code) == ("undelivered", "21610")
    with Session(texting.db.engine) as session:
        found = session.get(SmsOptOut, texting.vault.person_key("sms", PERSON))
        assert found is not None and found.source == "carrier"
    assert bodies(text(chat.client, "hello")) == []


def test_reports_about_unknown_messages_are_accepted_and_change_nothing(
    chat: SmsChat, texting: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    chat.send("hi")
    before = snapshot(texting)
    with caplog.at_level(logging.INFO, logger="bot.channels.sms"):
        for reply_id, sid in ((999_999, "SM" + "c" * 32), (None, "SM" + "d" * 32), (None, "")):
            response = report(chat.client, reply_id, MessageSid=sid, MessageStatus="delivered")
            assert response.status_code == 200
        report(chat.client, None, MessageSid="SMx", MessageStatus="failed", To=PERSON)
    assert snapshot(texting) == before
    assert "SM" + "c" * 32 not in caplog.text and PERSON not in caplog.text
    assert "unknown messages" in caplog.text


def test_a_forged_report_is_refused(chat: SmsChat, texting: Engine) -> None:
    chat.send("hi")
    [row] = deliveries(texting, chat_last_sid(texting))
    before = snapshot(texting)
    params = {"MessageSid": "SM" + "e" * 32, "MessageStatus": "failed", "ErrorCode": "21610"}
    response = post_signed(
        chat.client, f"/sms/status?reply={row.id}", {**params, "To": PERSON}, signature="bad"
    )
    assert response.status_code == 403
    assert snapshot(texting) == before


# ----- start-up ----------------------------------------------------------------


def test_without_credentials_sms_is_off_and_says_so_in_one_line(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bot.web.app"):
        client = TestClient(create_app(engine))
    lines = [r.getMessage() for r in caplog.records if "SMS channel" in r.getMessage()]
    assert lines == [
        "SMS channel off: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM "
        "or TWILIO_MESSAGING_SERVICE_SID"
    ]
    assert text(client, "hi").status_code == 404
    simulated = client.post("/simulator/messages", json={"session": "abcdefgh1", "text": "hi"})
    assert simulated.status_code == 200 and simulated.json()["replies"]


def test_with_credentials_sms_is_on(texting: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bot.web.app"):
        create_app(texting)
    assert "SMS channel on at /sms/inbound" in caplog.text
    assert TOKEN not in caplog.text and BASE in webhook.status_url(texting)


def test_on_without_a_public_address_says_every_request_will_be_refused(engine: Engine) -> None:
    line = setup.startup_line(sms_engine(engine, public_base_url="").settings)
    assert line == "SMS channel on at /sms/inbound, but refusing every request: set PUBLIC_BASE_URL"


def test_a_messaging_service_alone_turns_sms_on(engine: Engine) -> None:
    texting = sms_engine(engine, twilio_from="", twilio_messaging_service_sid="MG" + "1" * 32)
    assert texting.settings.sms_enabled
    assert bodies(text(TestClient(create_app(texting)), "hi"))


def test_conversations_and_delivery_records_keep_no_phone_number(
    chat: SmsChat, texting: Engine
) -> None:
    chat.start("me")
    dump = repr(snapshot(texting))
    assert PERSON not in dump and PERSON[1:] not in dump
    assert count(texting, Conversation) == 1 and count(texting, OutboundMessage) == 3


def test_simultaneous_deliveries_of_one_text_are_answered_once(
    chat: SmsChat, texting: Engine
) -> None:
    chat.send("hi")
    sid = new_sid()
    params = inbound_params("1", sid=sid)
    answers: list[str] = []

    def deliver() -> None:
        answers.append(post_signed(chat.client, "/sms/inbound", params).text)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(answers)) == 1 and len(answers) == 4
    assert len(deliveries(texting, sid)) == 1
    assert stored_replies(texting, sid)[-1].key == "who.ask"


ids = itertools.count()


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.one_of(
            st.text(max_size=200),
            st.sampled_from(["1", "2", "3", "skip", "back", "menu", "yes", "STOP", "START"]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_random_texts_always_get_valid_twiml(sqlite_engine: Engine, steps: list[str]) -> None:
    client = SmsChat(sms_engine(sqlite_engine)).client
    sender = f"+4479112{next(ids):05d}"
    opted_out = False
    for body in steps:
        response = text(client, body, sender=sender)
        messages = bodies(response)  # parses as TwiML
        said = normalise(body)
        if said in OPT_OUT_WORDS:
            opted_out = True
        elif said in OPT_IN_WORDS and opted_out:
            opted_out = False
            assert messages == []
            continue
        if opted_out:
            assert messages == []
        else:
            assert messages and all(0 < len(m) <= 1600 for m in messages)
            assert sms_text(sqlite_engine.error_reply()) not in messages


def test_two_deliveries_racing_to_record_one_reply_make_one_record(
    texting: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both deliveries are held between looking for the record and creating it;
    only the database's serialisation (one write at a time on SQLite, a lock on
    the message id on PostgreSQL) keeps the second from creating another."""
    barrier = threading.Barrier(2, timeout=2)
    real_segments = sms_replies.sms_segments

    def held(body: str) -> tuple[str, int]:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return real_segments(body)

    monkeypatch.setattr(sms_replies, "sms_segments", held)
    sid, person = new_sid(), texting.vault.person_key("sms", PERSON)
    results: list[list[int]] = []

    def record() -> None:
        results.append(
            sms_replies.delivery_ids(texting.db, person, sid, ["Hello"], inbound.received_at())
        )

    threads = [threading.Thread(target=record) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(deliveries(texting, sid)) == 1
    assert results[0] == results[1]


# ----- one transaction per message (issue 15) ----------------------------------


def _transactions_and_keys(
    client: TestClient, texting: Engine, monkeypatch: pytest.MonkeyPatch, body: str, sid: str
) -> tuple[list[str], int, list[str]]:
    """The bodies answering one new text, the transactions it began, and the
    channels its person keys were computed for."""
    began: list[object] = []
    keyed: list[str] = []
    real_key = texting.vault.person_key

    def counted_key(channel: str, address: str) -> str:
        keyed.append(channel)
        return real_key(channel, address)

    def on_begin(connection: object) -> None:
        began.append(connection)

    monkeypatch.setattr(texting.vault, "person_key", counted_key)
    event.listen(texting.db.engine, "begin", on_begin)
    try:
        response = text(client, body, sid=sid)
    finally:
        event.remove(texting.db.engine, "begin", on_begin)
    return bodies(response), len(began), keyed


def test_a_new_text_costs_one_transaction_and_one_person_key(
    client: TestClient, texting: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The MessageSid's lookup, the opt-out check, the flood count, the turn, the
    delivery records and the MessageSid's record share the turn's transaction."""
    text(client, "hi")
    sid = new_sid()
    answer, transactions, keyed = _transactions_and_keys(client, texting, monkeypatch, "1", sid)
    assert len(answer) == 1
    assert transactions == 1
    assert keyed == ["sms", "seen-message-id"]  # the person's, the MessageSid's: once each
    [row] = deliveries(texting, sid)  # the delivery record, made in that transaction
    assert row.status == "queued" and row.in_reply_to == sid
    assert text(client, "1", sid=sid).text.count(f"reply={row.id}") == 1  # a retry: same row


def test_stop_costs_one_transaction_too(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    texting = sms_engine(engine, twilio_handles_opt_out=False)
    client = SmsChat(texting).client
    sid = new_sid()
    answer, transactions, keyed = _transactions_and_keys(client, texting, monkeypatch, "STOP", sid)
    assert transactions == 1 and keyed == ["sms", "seen-message-id"]
    assert answer == [notice_text(texting, "channels.opted_out")]
    with Session(texting.db.engine) as session:
        assert is_opted_out(session, texting.vault, PERSON)
