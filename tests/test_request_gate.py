"""A returning person's request opens only for whoever gives its code word (or
the PIN offered to someone who chose none), end to end through SMS (signed
Twilio webhooks) and Telegram (the real webhook and a fake Bot API), on
SQLite and PostgreSQL.

Whoever holds the phone without the word gets the ordinary greeting and the
same replies as a phone that never asked for anything: no reference, no
times, not even that a request exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.telegram import client as telegram
from bot.dashboard.audit import events
from bot.engine import Engine
from bot.flows.safe_times import describe
from bot.storage import binding
from bot.storage.models import CallbackRequest, CodeWordLock, Outbox
from bot.storage.request_access import new_pin
from bot.text import normalise
from bot.types import Reply
from bot.worker import purge
from tests import test_journeys as journeys
from tests.dashboard_support import Clock, add_user, app_with_clock, signed_in
from tests.fake_bot_api import FakeBotApi, FakeBotApiServer
from tests.sms_support import SmsChat, sms_engine
from tests.telegram_driver import TelegramChat, telegram_engine, webhook_client

OWNER = "+447700900123"
STRANGER = "+447700900456"
NEW_NUMBER = "+447700900789"
WINDOWS = [{"day": "fri", "start": "12:00", "end": "17:00"}]
# Real time: Telegram stamps a button press when it arrives, not with `chat.now`.
NOW = datetime.now(UTC).replace(microsecond=0)
STAFF_CHAT = "-100123"
TELEGRAM_IDS = {OWNER: 555001, STRANGER: 555002, NEW_NUMBER: 555003}  # the same people


# ----- the two channels, each on both databases --------------------------------
@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApiServer() as state:
        yield state


@pytest.fixture(params=["sms", "telegram"])
def channel(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def tg_engine(
    engine: Engine, tmp_path: Path, fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    monkeypatch.setattr(telegram, "PER_CHAT_RATE", 1000.0)  # tests type fast
    return telegram_engine(engine, tmp_path, fake, telegram_staff_chat_id=STAFF_CHAT)


@pytest.fixture
def tg_client(tg_engine: Engine) -> Iterator[Any]:
    with webhook_client(tg_engine) as client:
        yield client


@pytest.fixture
def gate(engine: Engine, channel: str, request: pytest.FixtureRequest) -> Any:
    """Makes chats for one channel: `gate(address)`; the engine has a staff chat."""
    if channel == "sms":
        texting = sms_engine(engine, telegram_staff_chat_id=STAFF_CHAT)

        def sms_chat(address: str) -> SmsChat:
            chat = SmsChat(texting, address=address)
            chat.now = NOW
            return chat

        sms_chat.engine = texting  # type: ignore[attr-defined]
        return sms_chat
    tg = request.getfixturevalue("tg_engine")
    client = request.getfixturevalue("tg_client")
    fake = request.getfixturevalue("fake")

    def tg_chat(address: str) -> TelegramChat:
        return TelegramChat(tg, client, fake, chat_id=TELEGRAM_IDS[address])  # real time

    tg_chat.engine = tg  # type: ignore[attr-defined]
    return tg_chat


def seed(
    engine: Engine, channel: str, address: str, code_word: str | None
) -> tuple[str, str | None]:
    """An open request made from `address` (as the callback flow makes it) and,
    when it has no code word, the PIN the confirmation offers."""
    sender = str(TELEGRAM_IDS[address]) if channel == "telegram" else address
    person = engine.vault.person_key(channel, sender)
    answers: dict[str, Any] = {"phone": "+447911123456", "asap": False, "windows": WINDOWS}
    if code_word:
        answers["code_word"] = code_word
    with engine.db.session() as session:
        store = engine.request_store(session, person, channel, NOW - timedelta(hours=1))
        reference = store.create("me", answers, 0, [])
        pin = engine.request_access(session, person, channel, NOW).issue_pin()
        session.commit()
    return reference, pin


def stored(engine: Engine, reference: str) -> CallbackRequest:
    with engine.db.session() as session:
        found = session.execute(
            select(CallbackRequest).where(CallbackRequest.reference == reference)
        ).scalar_one()
        session.commit()
    return found


def texts(replies: list[Reply]) -> str:
    return "\n".join(f"{r.sms}\n{r.rich}\n" + " ".join(o.label for o in r.options) for r in replies)


def times_words(engine: Engine) -> str:
    return describe(engine.content, WINDOWS, False, "en")


def into_menu(chat: Any) -> None:
    chat.send("hi")
    chat.pick("yes")


# ----- the right word -----------------------------------------------------------
def test_the_right_code_word_opens_status_times_and_dont_call_me(gate: Any, channel: str) -> None:
    reference, pin = seed(gate.engine, channel, OWNER, "Blue Bell")
    assert pin is None  # a person with a code word is offered no PIN
    chat = gate(OWNER)
    into_menu(chat)
    assert chat.key == "who.ask"  # the greeting leads on as for anyone
    assert reference not in texts(chat.last)
    assert [r.key for r in chat.send("my request")] == ["my_request.ask_word"]
    replies = chat.send("  blue-BELL ")  # case, spaces and punctuation forgiven
    assert chat.key == "my_request.status"
    assert reference in replies[-1].sms and times_words(gate.engine) in replies[-1].sms
    assert all("Blue" not in r.sms and "bell" not in r.sms.lower() for r in replies)
    chat.pick("cancel")
    assert chat.key == "my_request.confirm_cancel"
    assert reference not in chat.last[-1].sms  # "Are you sure?" gives nothing away
    assert stored(gate.engine, reference).status == "open"  # not on one press
    chat.pick("yes")
    assert chat.key == "my_request.cancelled"
    cancelled = stored(gate.engine, reference)
    assert cancelled.status == "cancelled"
    details = gate.engine.vault.open(
        cancelled.details_enc, binding.request_details(cancelled.reference)
    )
    assert details == {}


def test_dont_call_me_asks_once_and_no_goes_back(gate: Any, channel: str) -> None:
    reference, _ = seed(gate.engine, channel, OWNER, "tulip")
    chat = gate(OWNER)
    chat.send("status")
    assert [r.key for r in chat.last] == ["first_contact.greeting", "my_request.ask_word"]
    chat.send("Tulip")
    chat.pick("cancel")
    chat.pick("no")
    assert chat.key == "my_request.status"
    assert stored(gate.engine, reference).status == "open"


def test_change_times_behind_the_word(gate: Any, channel: str) -> None:
    reference, _ = seed(gate.engine, channel, OWNER, "tulip")
    chat = gate(OWNER)
    into_menu(chat)
    chat.send("my request")
    chat.send("tulip")
    chat.pick("change_times")
    chat.pick("asap")
    assert chat.key == "my_request.times_saved"
    assert stored(gate.engine, reference).asap is True


# ----- no word: the PIN -----------------------------------------------------------
def test_no_code_word_the_pin_opens_it_and_is_kept_only_hashed(gate: Any, channel: str) -> None:
    reference, pin = seed(gate.engine, channel, OWNER, None)
    assert pin is not None and len(pin) == 4 and pin.isdigit()
    row = stored(gate.engine, reference)
    assert row.pin_hash and pin not in row.pin_hash
    assert pin not in str(
        gate.engine.vault.open(row.details_enc, binding.request_details(reference))
    )
    chat = gate(OWNER)
    into_menu(chat)
    chat.send("my request")
    chat.send(f"{pin[:2]} {pin[2:]}")
    assert chat.key == "my_request.status"
    assert reference in chat.last[-1].sms


# ----- the wrong word, three times ----------------------------------------------
def test_three_wrong_words_lock_the_sender_and_tell_the_handler(gate: Any, channel: str) -> None:
    reference, _ = seed(gate.engine, channel, OWNER, "tulip")
    chat = gate(OWNER)
    into_menu(chat)
    chat.send("my request")
    assert chat.keys("rose") == ["my_request.no_match"]
    assert chat.keys("daisy") == ["my_request.no_match"]
    assert chat.keys("lily") == ["my_request.try_later"]
    assert chat.keys("tulip") == ["my_request.try_later"]  # locked: even the right word
    row = stored(gate.engine, reference)
    assert row.gate_locked_at is not None and row.status == "open"
    with gate.engine.db.session() as session:
        audit = [e for e in events(session, reference) if e.action == "code_word_locked"]
        notices = session.execute(select(Outbox).where(Outbox.kind == "staff_notice")).scalars()
        staff = [
            gate.engine.vault.open(n.payload_enc, binding.outbox_payload(n.dedupe_key))
            for n in notices
        ]
        session.commit()
    assert len(audit) == 1 and audit[0].detail == channel
    assert any(reference in str(payload) for payload in staff)
    # After the lock time the right word opens it again.
    chat.now = max(NOW, datetime.now(UTC)) + timedelta(minutes=61)
    chat.send("hi")  # a fresh start after the silence
    chat.send("my request")
    chat.send("tulip")
    assert chat.key == "my_request.status"


def test_the_dashboard_shows_the_lock_to_the_handler(
    gate: Any, channel: str, engine: Engine
) -> None:
    reference, _ = seed(gate.engine, channel, OWNER, "tulip")
    add_user(engine, "hana", "handler")
    client, _csrf = signed_in(app_with_clock(engine, Clock(NOW)), "hana")  # plain http
    assert 'id="code-word-lock"' not in client.get(f"/dashboard/requests/{reference}").text
    assert "Wrong code word" not in client.get("/dashboard").text
    chat = gate(OWNER)
    chat.send("my request")
    for word in ("rose", "daisy", "lily"):
        chat.send(word)
    page = client.get(f"/dashboard/requests/{reference}").text
    assert 'id="code-word-lock"' in page and "wrong code word" in page
    assert "Wrong code word too many times" in client.get("/dashboard").text  # the queue too
    assert "rose" not in page and "lily" not in page  # never the words tried


# ----- the phone-holder without the word learns nothing ----------------------------
def _probe(chat: Any) -> list[list[Reply]]:
    """What someone holding the phone might try, message by message."""
    seen = []
    for text in (
        "hi",
        "1",
        "my request",
        "status",
        "1234",
        "password",
        "FD",
        "menu",
        "cancel my call",
        "0000",
    ):
        seen.append(chat.send(text))
    return seen


def test_the_phone_holder_without_the_word_learns_nothing(gate: Any, channel: str) -> None:
    reference, _ = seed(gate.engine, channel, OWNER, "tulip")
    with_request = _probe(gate(OWNER))
    without = _probe(gate(STRANGER))
    everything = texts([r for turn in with_request for r in turn])
    assert reference not in everything and reference.split("-")[1] not in everything
    assert times_words(gate.engine) not in everything and "Fri" not in everything
    # Exactly what a phone that never asked for anything is told.
    assert [[(r.key, r.sms) for r in turn] for turn in with_request] == [
        [(r.key, r.sms) for r in turn] for turn in without
    ]
    assert stored(gate.engine, reference).gate_locked_at is not None  # and its handler knows


# ----- a new, safe number -------------------------------------------------------------
def test_a_new_number_cancels_with_the_reference_and_the_code_word(gate: Any, channel: str) -> None:
    reference, _ = seed(gate.engine, channel, OWNER, "tulip")
    chat = gate(NEW_NUMBER)
    chat.send(f"cancel {reference.lower()}")
    assert [r.key for r in chat.last] == ["first_contact.greeting", "my_request.ask_word"]
    chat.send("tulip")
    assert chat.key == "my_request.status"
    assert chat.option_ids() == ["cancel", "something_else"]  # cancel, not change
    chat.pick("cancel")
    chat.pick("yes")
    assert chat.key == "my_request.cancelled"
    assert stored(gate.engine, reference).status == "cancelled"


def test_a_new_number_can_give_reference_and_word_at_the_question(gate: Any, channel: str) -> None:
    reference, _ = seed(gate.engine, channel, OWNER, "tulip")
    chat = gate(NEW_NUMBER)
    into_menu(chat)
    chat.send("my request")
    assert chat.keys("tulip") == ["my_request.no_match"]  # not this sender's: no match
    assert chat.keys(reference) == ["my_request.word_after_reference"]
    chat.send("tulip")
    assert chat.key == "my_request.status"


def test_a_new_number_with_a_wrong_word_is_locked_out_too(gate: Any, channel: str) -> None:
    reference, _ = seed(gate.engine, channel, OWNER, "tulip")
    chat = gate(NEW_NUMBER)
    chat.send(f"cancel {reference}")
    for word in ("rose", "daisy"):
        assert chat.keys(word) == ["my_request.no_match"]
    assert chat.keys("lily") == ["my_request.try_later"]
    assert chat.keys("tulip") == ["my_request.try_later"]
    assert stored(gate.engine, reference).status == "open"
    assert stored(gate.engine, reference).gate_locked_at is not None
    # The owner's own phone is not locked by someone else's tries.
    owner = gate(OWNER)
    owner.send("my request")
    owner.send("tulip")
    assert owner.key == "my_request.status"


# ----- the words, in every language and on each channel --------------------------------
def test_the_words_work_in_every_shipped_language(engine: Engine) -> None:
    for locale in engine.locales:
        words = engine.content.words("words.my_request", "word", locale)
        english = engine.content.words("words.my_request", "word", "en")
        assert locale == "en" or len(words) > len(english), f"{locale}: not translated"
        for word in words:
            said = " ".join(word.split())
            assert engine.words.command(normalise(said)) == "my_request", (locale, word)


def test_a_bare_cancel_on_sms_stays_the_carriers_opt_out(engine: Engine) -> None:
    texting = sms_engine(engine)
    chat = SmsChat(texting, address=OWNER)
    response = chat.post("CANCEL")
    assert response.status_code == 200 and "<Message>" not in response.text
    with engine.db.session() as session:
        assert session.execute(select(CodeWordLock)).first() is None
        session.commit()


def test_cancel_reaches_the_gate_on_telegram_and_with_more_words_on_sms(
    gate: Any, channel: str
) -> None:
    reference, _ = seed(gate.engine, channel, OWNER, "tulip")
    chat = gate(OWNER)
    into_menu(chat)
    word = "cancel" if channel == "telegram" else "Cancel my call"
    assert [r.key for r in chat.send(word)] == ["my_request.ask_word"]
    chat.send("tulip")
    chat.send(word)  # inside the opened request it picks "Don't call me"
    assert chat.key == "my_request.confirm_cancel"
    assert stored(gate.engine, reference).status == "open"


# ----- storage: forgiving, keyed, constant-time; stale counts forgotten ------------------
def test_code_words_compare_forgivingly_and_only_as_keyed_hashes(engine: Engine) -> None:
    reference, _ = seed(engine, "sms", OWNER, "Łódź Kaleidoscope")
    person = engine.vault.person_key("sms", OWNER)
    with engine.db.session() as session:
        access = engine.request_access(session, person, "sms", NOW)
        assert access.try_word("lodz-kaleidoscope").reference == reference
        assert access.try_word("LODZKALEIDOSCOPE ").reference == reference
        assert access.try_word("lodz kaleidoscop").outcome == "wrong"
        assert access.try_word("Łódź Kaleidoscope", "FD-ZZZZ").outcome == "wrong"
        session.commit()
    row = stored(engine, reference)
    assert row.pin_hash is None  # a code word was chosen: no PIN
    with engine.db.engine.connect() as connection:
        plain = [str(r) for r in connection.execute(select(CodeWordLock)).all()]
    assert not any("odz" in p.lower() for p in plain)


def test_the_worker_forgets_stale_wrong_word_counts(engine: Engine) -> None:
    person = engine.vault.person_key("sms", STRANGER)
    with engine.db.session() as session:
        engine.request_access(session, person, "sms", NOW).try_word("rose")
        session.commit()
    purge(engine.db, engine.vault, engine.settings, now=NOW + timedelta(minutes=30))
    with engine.db.session() as session:
        assert session.get(CodeWordLock, person) is not None  # still counting
        session.commit()
    purge(engine.db, engine.vault, engine.settings, now=NOW + timedelta(minutes=61))
    with engine.db.session() as session:
        assert session.get(CodeWordLock, person) is None
        session.commit()


def test_a_person_writing_polish_reaches_the_gate_in_polish(gate: Any, channel: str) -> None:
    reference, _ = seed(gate.engine, channel, OWNER, "tulip")
    chat = gate(OWNER)
    chat.send("LANG")
    chat.pick("pl")
    replies = chat.send("moje zgłoszenie")
    assert replies[-1].key == "my_request.ask_word" and replies[-1].locale == "pl"
    assert chat.keys("róża") == ["my_request.no_match"]
    chat.send("TULIP")
    assert chat.key == "my_request.status" and reference in chat.last[-1].sms


# ----- the PIN offered at the end of a real request ---------------------------------------
def test_a_request_without_a_code_word_ends_with_a_pin_that_opens_it(engine: Engine) -> None:
    """Through signed Twilio webhooks: the shortest request (no code word) ends
    with the PIN, said once; the stored request holds only its keyed hash."""
    chat = SmsChat(sms_engine(engine), address=OWNER)
    reference = journeys.make_request(chat)
    [offer] = [r for r in chat.last if r.key == "my_request.pin"]
    [pin] = re.findall(r"\b\d{4}\b", offer.sms)
    assert stored(engine, reference).pin_hash not in (None, pin)
    chat.send("exit")
    chat.send("hi")
    chat.pick("yes")
    assert pin not in texts(chat.last) and reference not in texts(chat.last)
    chat.send("my request")
    chat.send(pin)
    assert chat.key == "my_request.status" and reference in chat.last[-1].sms


def test_a_reference_is_never_read_as_a_disclosure_but_the_rest_is(gate: Any, channel: str) -> None:
    """Some references read like words to the safety screen ("FD-SHER"); the
    reference is taken out before the screen reads a message, nothing else."""
    assert gate.engine.screen.read("FD-SHER", "en").codes  # why this test exists
    chat = gate(STRANGER)
    assert chat.keys("status FD-SHER") == ["first_contact.greeting", "my_request.ask_word"]
    assert chat.keys("fd sher") == ["my_request.word_after_reference"]
    replies = chat.send("FD-SHER he is here now with a knife, help")
    assert replies[0].key == "words.danger"


def test_no_pin_reads_as_an_emergency_when_typed(engine: Engine) -> None:
    pins = {new_pin() for _ in range(3000)}
    assert all(len(p) == 4 and p.isdigit() for p in pins) and len(pins) > 2000
    assert not any(engine.screen.read(p, "en").codes for p in pins)
