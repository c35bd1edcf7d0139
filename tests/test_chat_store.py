"""The live-chat store (bot/storage/chats.py) on real databases.

Both engineers build on these names, so each promise the contract makes is
held here: the queue's order, one worker per chat (two threads racing on
PostgreSQL), the open-chat limit, the reply-window rule, sealed lines,
delivery queued through the outbox in the same transaction, EXIT dropping
what was not yet sent, and the purge.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.content.model import Content
from bot.engine import Engine
from bot.storage import chats
from bot.storage.db import Database, id_of
from bot.storage.models import ChatMessage, LiveChat, Outbox, StaffUser
from tests.conftest import clean, make_settings
from tests.dashboard_support import add_user

T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # a Monday afternoon


@pytest.fixture
def store_engine(db_url: str, tmp_path: Path, content: Content) -> Iterator[Engine]:
    clean(db_url)
    engine = Engine(settings=make_settings(tmp_path, db_url), content=content)
    for name in ("worker1", "worker2", "worker3"):
        add_user(engine, name, "handler")
    yield engine
    engine.db.dispose()


def staff_ids(engine: Engine) -> list[int]:
    with engine.db.session() as session:
        found = [
            id_of(u) for u in session.execute(select(StaffUser).order_by(StaffUser.id)).scalars()
        ]
        session.commit()
    return found


def new_chat(engine: Engine, n: int, at: datetime = T0, signals: tuple[str, ...] = ()) -> int:
    with engine.db.session() as session:
        chat = chats.start_chat(
            session,
            engine.vault,
            person_key=engine.vault.person_key("sms", f"+4477009000{n:02d}"),
            channel="sms",
            address=f"+4477009000{n:02d}",
            locale="en",
            now=at,
            signals=signals,
        )
        session.commit()
        return id_of(chat)


def test_queue_order_waiting_by_urgency_then_age_then_open(store_engine: Engine) -> None:
    worker = staff_ids(store_engine)[0]
    old = new_chat(store_engine, 1, T0)
    newer = new_chat(store_engine, 2, T0 + timedelta(minutes=1))
    urgent = new_chat(store_engine, 3, T0 + timedelta(minutes=2), signals=("danger_now",))
    claimed = new_chat(store_engine, 4, T0 - timedelta(minutes=5))
    with store_engine.db.session() as session:
        assert chats.claim_chat(session, claimed, worker, T0, limit=3)
        # A signal arriving later raises a chat above an older one.
        chat = chats.get_chat(session, newer)
        assert chat is not None
        chats.add_person_message(session, store_engine.vault, chat, "x", ["child"], T0)
        session.commit()
    with store_engine.db.session() as session:
        order = [c.id for c in chats.waiting_and_open(session, T0)]
        session.commit()
    assert order == [urgent, newer, old, claimed]


def test_lines_are_sealed_and_read_back_in_order(store_engine: Engine) -> None:
    worker = staff_ids(store_engine)[0]
    chat_id = new_chat(store_engine, 1)
    vault = store_engine.vault
    with store_engine.db.session() as session:
        chat = chats.get_chat(session, chat_id)
        assert chat is not None
        chats.add_person_message(session, vault, chat, "he took my phone", ["danger_now"], T0)
        assert chats.claim_chat(session, chat_id, worker, T0, limit=3)
        session.refresh(chat)
        chats.add_worker_message(session, vault, chat, worker, "Are you safe right now?", T0)
        chats.add_bot_line(session, vault, chat, "menu", T0)
        session.commit()
    with store_engine.db.session() as session:
        lines = chats.messages(session, vault, chat_id)
        raw = session.execute(text("select body_enc from chat_messages")).scalars().all()
        address = session.execute(text("select address_enc from live_chats")).scalar_one()
        chat = chats.get_chat(session, chat_id)
        assert chat is not None
        assert chats.person_address(vault, chat) == "+447700900001"
        assert chat.urgency > 0 and chats.signal_codes(chat) == ["danger_now"]
        later = chats.messages(session, vault, chat_id, after_id=lines[0].id)
        session.commit()
    assert [(x.author, x.text) for x in lines] == [
        ("person", "he took my phone"),
        ("worker", "Are you safe right now?"),
        ("bot", "menu"),
    ]
    assert lines[0].signals == ("danger_now",) and lines[0].delivery is None
    assert lines[1].delivery == "queued"
    assert [x.id for x in later] == [lines[1].id, lines[2].id]
    assert all(b"phone" not in bytes(blob) and b"safe" not in bytes(blob) for blob in raw)
    assert b"+447700900001" not in bytes(address)


def test_a_sealed_line_copied_into_another_row_does_not_open(store_engine: Engine) -> None:
    chat_id = new_chat(store_engine, 1)
    vault = store_engine.vault
    with store_engine.db.session() as session:
        chat = chats.get_chat(session, chat_id)
        assert chat is not None
        first = chats.add_person_message(session, vault, chat, "first", [], T0)
        second = chats.add_person_message(session, vault, chat, "second", [], T0)
        second.body_enc = first.body_enc
        session.add(second)
        session.commit()
    with store_engine.db.session() as session, pytest.raises(ValueError):
        chats.messages(session, vault, chat_id)


def test_worker_line_is_queued_in_the_outbox_with_its_delivery(store_engine: Engine) -> None:
    worker = staff_ids(store_engine)[0]
    chat_id = new_chat(store_engine, 1)
    with store_engine.db.session() as session:
        assert chats.claim_chat(session, chat_id, worker, T0, limit=3)
        chat = chats.get_chat(session, chat_id)
        assert chat is not None
        line = chats.add_worker_message(session, store_engine.vault, chat, worker, "Hello", T0)
        session.commit()
    with store_engine.db.session() as session:
        row = session.get(Outbox, line.outbox_id)
        assert row is not None and row.status == "pending" and row.kind == chats.OUTBOX_KIND
        assert chats.chat_of_outbox(session, id_of(row)) is not None
        assert chats.mark_delivery(session, id_of(row), "delivered") == 1
        # A late "sent" never undoes "delivered".
        assert chats.mark_delivery(session, id_of(row), "sent") == 0
        stored = session.get(ChatMessage, line.id)
        assert stored is not None and stored.delivery == "delivered"
        session.commit()


def test_claim_limit_transfer_and_take_over(store_engine: Engine) -> None:
    one, two, supervisor = staff_ids(store_engine)
    ids = [new_chat(store_engine, n) for n in range(4)]
    with store_engine.db.session() as session:
        assert chats.claim_chat(session, ids[0], one, T0, limit=2)
        assert not chats.claim_chat(session, ids[0], two, T0, limit=2), "already claimed"
        assert chats.claim_chat(session, ids[1], one, T0, limit=2)
        assert not chats.claim_chat(session, ids[2], one, T0, limit=2), "over the limit"
        assert chats.claim_chat(session, ids[2], two, T0, limit=2)
        assert chats.claim_chat(session, ids[3], two, T0, limit=2)
        assert not chats.transfer_chat(session, ids[0], one, two, T0, limit=2), "two is full"
        assert not chats.transfer_chat(session, ids[2], one, supervisor, T0, limit=2), "not one's"
        assert chats.transfer_chat(session, ids[0], one, supervisor, T0, limit=2)
        assert chats.take_over(session, ids[1], supervisor, T0)
        chat = chats.get_chat(session, ids[1])
        assert chat is not None and chat.claimed_by == supervisor and chat.status == "open"
        session.commit()
    with store_engine.db.session() as session:
        assert chats.open_count(session, one) == 0
        assert chats.open_count(session, supervisor) == 2
        session.commit()


def test_reply_window_rule(store_engine: Engine) -> None:
    one, two, _ = staff_ids(store_engine)
    chat_id = new_chat(store_engine, 1)
    with store_engine.db.session() as session:
        assert chats.claim_chat(session, chat_id, one, T0, limit=3)
        chat = chats.get_chat(session, chat_id)
        assert chat is not None
        assert chats.can_reply(chat, one, T0 + timedelta(minutes=15), 15) is None
        assert chats.can_reply(chat, two, T0, 15) == "not_yours"
        assert chats.can_reply(chat, one, T0 + timedelta(minutes=16), 15) == "too_late"
        # Later texts are safe only inside the person's safe windows (London time).
        chat.later_texts_ok = True
        chat.windows = [{"day": "mon", "start": "18:00", "end": "20:00"}]
        assert chats.can_reply(chat, one, T0 + timedelta(hours=3), 15) == "too_late"
        assert chats.can_reply(chat, one, T0 + timedelta(hours=4, minutes=30), 15) is None
        chats.end_chat(session, chat, "spoke", T0)
        assert chats.can_reply(chat, one, T0, 15) == "ended"
        with pytest.raises(ValueError):
            chats.add_worker_message(session, store_engine.vault, chat, one, "late", T0)
        session.commit()


def test_exit_drops_unsent_lines_but_a_worker_ending_keeps_them(store_engine: Engine) -> None:
    one = staff_ids(store_engine)[0]
    ids = [new_chat(store_engine, n) for n in range(2)]
    outbox_ids = []
    with store_engine.db.session() as session:
        for chat_id in ids:
            assert chats.claim_chat(session, chat_id, one, T0, limit=3)
            chat = chats.get_chat(session, chat_id)
            assert chat is not None
            line = chats.add_worker_message(session, store_engine.vault, chat, one, "bye", T0)
            outbox_ids.append(line.outbox_id)
        left, closed = (chats.get_chat(session, i) for i in ids)
        assert left is not None and closed is not None
        chats.end_chat(session, left, "exit", T0, drop_unsent=True)
        chats.end_chat(session, closed, "spoke", T0)
        session.commit()
    with store_engine.db.session() as session:
        assert session.get(Outbox, outbox_ids[0]) is None
        assert session.get(Outbox, outbox_ids[1]) is not None
        failed = chats.messages(session, store_engine.vault, ids[0])
        assert [line.delivery for line in failed] == ["failed"]
        assert (
            chats.active_for(session, store_engine.vault.person_key("sms", "+447700900000")) is None
        )
        session.commit()


def test_queue_position_and_recent_wait(store_engine: Engine) -> None:
    one = staff_ids(store_engine)[0]
    first = new_chat(store_engine, 1, T0)
    second = new_chat(store_engine, 2, T0 + timedelta(minutes=1))
    with store_engine.db.session() as session:
        chat = chats.get_chat(session, second)
        assert chat is not None
        assert chats.queue_ahead(session, chat) == 1
        assert chats.recent_wait_minutes(session, T0) is None
        assert chats.claim_chat(session, first, one, T0 + timedelta(minutes=4), limit=3)
        assert chats.queue_ahead(session, chat) == 0
        assert chats.recent_wait_minutes(session, T0 + timedelta(minutes=5)) == 4
        session.commit()


def test_purge_removes_old_chats_and_their_lines(store_engine: Engine) -> None:
    old = new_chat(store_engine, 1, T0 - timedelta(days=40))
    recent = new_chat(store_engine, 2, T0 - timedelta(days=1))
    with store_engine.db.session() as session:
        chat = chats.get_chat(session, old)
        assert chat is not None
        chats.add_person_message(
            session, store_engine.vault, chat, "x", [], T0 - timedelta(days=40)
        )
        chats.end_chat(session, chat, "spoke", T0 - timedelta(days=30))
        assert chats.purge(session, T0, days=28) == 1
        session.commit()
    with store_engine.db.session() as session:
        assert session.get(LiveChat, old) is None and session.get(LiveChat, recent) is not None
        assert session.execute(select(ChatMessage)).first() is None
        session.commit()


def test_two_workers_racing_on_postgres_one_wins(
    postgres_url: str, tmp_path: Path, content: Content
) -> None:
    clean(postgres_url)
    engine = Engine(settings=make_settings(tmp_path, postgres_url), content=content)
    try:
        for index in range(6):
            add_user(engine, f"racer{index}", "handler")
        staff = staff_ids(engine)
        chat_ids = [new_chat(engine, n) for n in range(3)]
        databases = [Database(postgres_url) for _ in staff]
        barrier = threading.Barrier(len(staff))
        won: list[list[int]] = [[] for _ in staff]

        def race(index: int) -> None:
            db = databases[index]
            barrier.wait()
            for chat_id in chat_ids:
                with db.session() as session:
                    if chats.claim_chat(session, chat_id, staff[index], T0, limit=3):
                        won[index].append(chat_id)
                    session.commit()

        threads = [threading.Thread(target=race, args=(i,)) for i in range(len(staff))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for db in databases:
            db.dispose()
        winners = sorted(chat_id for mine in won for chat_id in mine)
        assert winners == sorted(chat_ids), "each chat went to exactly one worker"
        with engine.db.session() as session:
            for chat_id in chat_ids:
                chat = chats.get_chat(session, chat_id)
                assert chat is not None and chat.status == "open"
                holder = [staff[i] for i, mine in enumerate(won) if chat_id in mine]
                assert [chat.claimed_by] == holder
            session.commit()
    finally:
        engine.db.dispose()


def test_one_worker_claiming_at_once_on_postgres_keeps_to_the_limit(
    postgres_url: str, tmp_path: Path, content: Content
) -> None:
    clean(postgres_url)
    engine = Engine(settings=make_settings(tmp_path, postgres_url), content=content)
    try:
        add_user(engine, "solo", "handler")
        worker = staff_ids(engine)[0]
        chat_ids = [new_chat(engine, n) for n in range(6)]
        databases = [Database(postgres_url) for _ in chat_ids]
        barrier = threading.Barrier(len(chat_ids))
        results: list[bool] = [False] * len(chat_ids)

        def grab(index: int) -> None:
            barrier.wait()
            with databases[index].session() as session:
                results[index] = chats.claim_chat(session, chat_ids[index], worker, T0, limit=2)
                session.commit()

        threads = [threading.Thread(target=grab, args=(i,)) for i in range(len(chat_ids))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for db in databases:
            db.dispose()
        assert sum(results) == 2
        with engine.db.session() as session:
            assert chats.open_count(session, worker) == 2
            session.commit()
    finally:
        engine.db.dispose()


def test_chats_nobody_may_answer_any_more_are_ended_with_a_line_saying_why(
    store_engine: Engine,
) -> None:
    silent = new_chat(store_engine, 1, T0 - timedelta(minutes=45))
    talking = new_chat(store_engine, 2, T0 - timedelta(minutes=5))
    with store_engine.db.session() as session:
        assert chats.end_stale(session, store_engine.vault, T0, 30) == 1
        session.commit()
    with store_engine.db.session() as session:
        ended, live = chats.get_chat(session, silent), chats.get_chat(session, talking)
        assert ended is not None and ended.status == "ended" and ended.outcome == "timeout"
        assert live is not None and live.status == "waiting"
        assert [x.text for x in chats.messages(session, store_engine.vault, silent)] == ["timeout"]
        session.commit()
