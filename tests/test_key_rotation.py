"""`frontdoor keys rotate` re-seals every sealed column under the new key,
person keys survive it, a run stopped halfway is run again safely, one bad
row is counted and left, and a value copied into another row never opens.
On SQLite and PostgreSQL; data from before key ids upgrades without loss.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, func, select, update

from bot.cli import main
from bot.content.model import Content
from bot.dashboard import audit, auth, second_factor, sessions
from bot.engine import Engine
from bot.outbox import enqueue
from bot.settings import Settings, get_settings
from bot.storage import binding, chats, rotation
from bot.storage.crypto import LEGACY, Unreadable, _derive, key_id, legacy_lookup_key
from bot.storage.db import Database
from bot.storage.keys import NAME, SecretMismatch
from bot.storage.models import (
    CallAttempt,
    CallbackRequest,
    Conversation,
    HandledMessage,
    KeyCheck,
    LookupKey,
)
from bot.types import Inbound
from tests.conftest import Chat, clean, make_settings, own_danger_examples
from tests.dashboard_support import SAFE_ANSWERS

OLD, NEW = "the-first-secret-of-this-service", "the-secret-after-rotation"
PERSON = "+447700900123"
CHAT_ID = "5550001"


def keyed(tmp_path: Path, url: str, secret: str, *old: str) -> Settings:
    return make_settings(tmp_path, url).model_copy(
        update={"frontdoor_secret": secret, "frontdoor_old_secrets": ",".join(old)}
    )


@pytest.fixture
def engines(db_url: str, tmp_path: Path, content: Content) -> Iterator[list[Engine]]:
    """Engines started by a test (under whichever secrets); disposed at the end."""
    clean(db_url)
    started: list[Engine] = []
    yield started
    for each in started:
        each.db.dispose()


def start(engines: list[Engine], settings: Settings, content: Content) -> Engine:
    engine = Engine(settings=settings, content=content)
    engines.append(engine)
    return engine


def populate(engine: Engine) -> str:
    """One value in every sealed column; returns the open request's reference."""
    now = datetime.now(UTC)
    Chat(engine, address=PERSON).send("hi")
    engine.handle(
        Inbound(
            channel="telegram",
            address=CHAT_ID,
            text="hi",
            message_id="tg-rotation-1",
            received_at=now,
            address_is_phone=False,
            sent_by_channel=True,
        )
    )
    with engine.db.session() as session:
        store = engine.request_store(session, engine.vault.person_key("sms", PERSON), "sms", now)
        reference = store.create("me", dict(SAFE_ANSWERS), 0)
        request = session.execute(
            select(CallbackRequest).where(CallbackRequest.reference == reference)
        ).scalar_one()
        enqueue(
            session,
            engine.vault,
            channel="sms",
            kind="text_before_call",
            address=PERSON,
            text="We will call you soon",
            dedupe_key=f"text_before_call:{reference}:1",
            now=now,
            request_id=request.id,
        )
        attempt = CallAttempt(request_id=request.id, user_id=1, kind="someone_else", created_at=now)
        session.add(attempt)
        session.flush()
        attempt.notes_enc = engine.vault.seal("A man answered", binding.attempt_notes(attempt.id))
        audit.record(
            session,
            "override",
            now,
            user_name="sue",
            reference=reference,
            reason="why",
            vault=engine.vault,
        )
        staff = auth.add_user(session, "rota", "handler", "a long enough password", now)
        second_factor.enrol(session, engine.vault, staff)  # staff_users.totp_enc
        _token, pending = sessions.start_pending(session, staff, now)
        second_factor.pending_secret(engine.vault, pending)  # staff_pending.secret_enc
        live = chats.start_chat(  # live_chats.address_enc
            session,
            engine.vault,
            person_key=engine.vault.person_key("sms", PERSON),
            channel="sms",
            address=PERSON,
            locale="en",
            now=now,
        )
        chats.add_person_message(session, engine.vault, live, "hello", [], now)  # chat_messages
        session.commit()
    return reference


def held(db: Database) -> dict[str, set[str]]:
    """Per sealed column, the key ids its values are under."""
    return {name: set(counts) for name, counts in rotation.census(db).items()}


def test_a_value_copied_into_another_row_or_table_does_not_open(
    engines: list[Engine], db_url: str, tmp_path: Path, content: Content
) -> None:
    engine = start(engines, keyed(tmp_path, db_url, OLD), content)
    populate(engine)
    Chat(engine, address="+447700900999").send("hi")
    with engine.db.session() as session:
        first, *_, second = session.execute(
            select(Conversation).order_by(Conversation.id)
        ).scalars()
        request = session.execute(select(CallbackRequest)).scalar_one()
        session.commit()
    own = binding.conversation_slots(first.person_key)
    assert isinstance(engine.vault.open(first.slots_enc, own), dict)
    with pytest.raises(Unreadable):  # another person's row of the same table
        engine.vault.open(first.slots_enc, binding.conversation_slots(second.person_key))
    with pytest.raises(Unreadable):  # another table, even with the same row identity
        engine.vault.open(request.details_enc, binding.outbox_payload(request.reference))
    with engine.db.session() as session:  # copied for real, then read as the engine reads it
        session.execute(
            update(Conversation)
            .where(Conversation.id == second.id)
            .values(slots_enc=first.slots_enc)
        )
        session.commit()
    rotating = start(engines, keyed(tmp_path, db_url, NEW, OLD), content)
    counts = rotation.rotate(rotating.db, rotating.vault)
    assert counts.unreadable["conversations.slots_enc"] == 1  # the copy, and only the copy
    assert counts.resealed["conversations.slots_enc"] == 2


def test_rotation_reseals_every_table_and_a_returning_person_is_still_found(
    engines: list[Engine], db_url: str, tmp_path: Path, content: Content
) -> None:
    before = start(engines, keyed(tmp_path, db_url, OLD), content)
    reference = populate(before)
    person = before.vault.person_key("sms", PERSON)
    every = {sealed.name for sealed in binding.SEALED}
    assert held(before.db) == {name: {key_id(OLD.encode())} for name in every}

    during = start(engines, keyed(tmp_path, db_url, NEW, OLD), content)
    done = rotation.rotate(during.db, during.vault)
    assert set(done.resealed) == every and done.complete
    assert sum(done.unreadable.values()) == 0
    assert done.retired == [key_id(OLD.encode())]
    assert held(during.db) == {name: {key_id(NEW.encode())} for name in every}

    # The old secret is gone: the service starts and the person is recognised.
    after = start(engines, keyed(tmp_path, db_url, NEW), content)
    assert after.vault.person_key("sms", PERSON) == person
    Chat(after, address=PERSON).send(own_danger_examples("en")[0])
    with after.db.session() as session:
        assert session.execute(select(func.count()).select_from(Conversation)).scalar_one() == 2
        store = after.request_store(session, person, "sms", datetime.now(UTC))
        found = store.open_request()
        request = session.execute(select(CallbackRequest)).scalar_one()
        session.commit()
    assert found is not None and found["reference"] == reference
    assert "danger_now" in request.safety_flags  # the engine found the open request
    details = after.vault.open(request.details_enc, binding.request_details(reference))
    assert details["phone"] == PERSON and details["code_word"] == "bluebell"
    with pytest.raises(SecretMismatch):  # going back to the retired secret is refused
        start(engines, keyed(tmp_path, db_url, OLD), content)


def test_a_rotation_stopped_halfway_is_simply_run_again(
    engines: list[Engine], db_url: str, tmp_path: Path, content: Content,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    populate(start(engines, keyed(tmp_path, db_url, OLD), content))
    sender = start(engines, keyed(tmp_path, db_url, OLD), content)
    for n in range(4):
        Chat(sender, address=f"+4477009001{n:02}").send("hi")
    during = start(engines, keyed(tmp_path, db_url, NEW, OLD), content)
    real, calls = rotation._reseal, iter(range(10_000))

    def crashing(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        if next(calls) == 3:
            raise KeyboardInterrupt  # the process dies after three rows
        real(*args, **kwargs)

    monkeypatch.setattr(rotation, "_reseal", crashing)
    with pytest.raises(KeyboardInterrupt):
        rotation.rotate(during.db, during.vault, batch=1)
    monkeypatch.setattr(rotation, "_reseal", real)
    old = key_id(OLD.encode())
    assert any(old in kids for kids in held(during.db).values())  # half done
    first_done = 3
    again = rotation.rotate(during.db, during.vault)
    assert sum(again.current.values()) == first_done  # rows already done are skipped
    assert again.complete and again.retired == [old]
    assert all(kids == {key_id(NEW.encode())} for kids in held(during.db).values())
    third = rotation.rotate(during.db, during.vault)
    assert sum(third.resealed.values()) == 0 and third.retired == []


def test_one_unreadable_row_is_counted_and_the_rest_rotate(
    engines: list[Engine], db_url: str, tmp_path: Path, content: Content
) -> None:
    populate(start(engines, keyed(tmp_path, db_url, OLD), content))
    during = start(engines, keyed(tmp_path, db_url, NEW, OLD), content)
    with during.db.session() as session:
        session.execute(update(HandledMessage).values(replies_enc=b"\x01garbage that is no seal"))
        session.commit()
    done = rotation.rotate(during.db, during.vault)
    assert done.unreadable["handled_messages.replies_enc"] == 2
    assert done.resealed["callback_requests.details_enc"] == 1
    assert done.resealed["handled_messages.address_enc"] == 1
    assert done.complete


def test_a_row_written_while_it_is_rotated_is_left_for_the_next_run(
    engines: list[Engine], db_url: str, tmp_path: Path, content: Content,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite writes one transaction at a time: no row can change mid-rotation")
    populate(start(engines, keyed(tmp_path, db_url, OLD), content))
    during = start(engines, keyed(tmp_path, db_url, NEW, OLD), content)
    real_open = during.vault.open_bytes

    def meanwhile(blob: bytes, context: bytes) -> bytes:
        plain = real_open(blob, context)
        if context.startswith(b"callback_requests.details_enc"):
            with during.db.session() as session:  # the person changes their request now
                session.execute(
                    update(CallbackRequest).values(details_enc=during.vault.seal({}, context))
                )
                session.commit()
        return plain

    monkeypatch.setattr(during.vault, "open_bytes", meanwhile)
    done = rotation.rotate(during.db, during.vault)
    assert done.changed["callback_requests.details_enc"] == 1 and not done.complete
    assert done.retired == []  # the old key stays until a run finishes cleanly
    monkeypatch.undo()
    with during.db.session() as session:
        request = session.execute(select(CallbackRequest)).scalar_one()
        session.commit()
    assert during.vault.open(request.details_enc, binding.request_details(request.reference)) == {}
    assert rotation.rotate(during.db, during.vault).complete


def _to_legacy(engine: Engine, secret: bytes) -> None:
    """Turn the database into one from before key ids: nonce + ciphertext, no
    associated data, person keys from the secret, the old check row."""
    aead = AESGCM(_derive(secret, b"frontdoor data key"))
    with engine.db.session() as session:
        for sealed in binding.SEALED:
            table = sealed.model.__table__
            column = table.c[sealed.column]
            for row in session.execute(select(table).where(column.is_not(None))).all():
                plain = engine.vault.open_bytes(row._mapping[sealed.column], sealed.context(row))
                nonce = os.urandom(12)
                session.execute(
                    table.update()
                    .where(table.c.id == row.id)
                    .values({sealed.column: nonce + aead.encrypt(nonce, plain, None)})
                )
        session.execute(delete(LookupKey))
        check = hmac.new(
            legacy_lookup_key(secret), f"key-check\x00{NAME}".encode(), hashlib.sha256
        ).hexdigest()
        session.add(KeyCheck(name=NAME, check=check, created_at=datetime.now(UTC)))
        session.commit()


def test_data_sealed_before_key_ids_opens_and_is_resealed(
    engines: list[Engine], db_url: str, tmp_path: Path, content: Content
) -> None:
    first = start(engines, keyed(tmp_path, db_url, OLD), content)
    reference = populate(first)
    _to_legacy(first, OLD.encode())
    assert all(kids == {LEGACY} for kids in held(first.db).values())

    upgraded = start(engines, keyed(tmp_path, db_url, OLD), content)  # the same secret
    with upgraded.db.session() as session:
        request = session.execute(select(CallbackRequest)).scalar_one()
        session.commit()
    legacy = upgraded.vault.open(request.details_enc, binding.request_details(reference))
    assert legacy["phone"] == PERSON
    with pytest.raises(SecretMismatch):
        start(engines, keyed(tmp_path, db_url, NEW), content)

    rotated = start(engines, keyed(tmp_path, db_url, NEW, OLD), content)
    done = rotation.rotate(rotated.db, rotated.vault)
    assert done.complete and sum(done.unreadable.values()) == 0
    assert all(kids == {key_id(NEW.encode())} for kids in held(rotated.db).values())
    after = start(engines, keyed(tmp_path, db_url, NEW), content)
    person = after.vault.person_key("sms", PERSON)
    with after.db.session() as session:
        assert after.request_store(session, person, "sms", datetime.now(UTC)).open_request()
        session.commit()


def test_the_keys_commands(
    engines: list[Engine], db_url: str, tmp_path: Path, content: Content,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    populate(start(engines, keyed(tmp_path, db_url, OLD), content))
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_SECRET", NEW)
    monkeypatch.setenv("FRONTDOOR_OLD_SECRETS", OLD)
    get_settings.cache_clear()
    try:
        assert main(["keys", "rotate"]) == 0
        assert main(["keys", "rotate"]) == 0
        monkeypatch.delenv("FRONTDOOR_OLD_SECRETS")
        get_settings.cache_clear()
        assert main(["keys", "status"]) == 0
    finally:
        get_settings.cache_clear()
    out = capsys.readouterr().out
    assert "callback_requests.details_enc: 1 re-sealed" in out
    assert "callback_requests.details_enc: 0 re-sealed, 1 already current" in out
    assert f"retired key ids: {key_id(OLD.encode())}" in out
    assert f"callback_requests.details_enc: {key_id(NEW.encode())}: 1" in out
    assert PERSON not in out and "bluebell" not in out
    with engines[0].db.session() as session:
        kept = session.execute(select(LookupKey.key_id)).scalars().all()
        session.commit()
    assert kept == [key_id(NEW.encode())]
