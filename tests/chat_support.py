"""Helpers for live-chat tests: a chat started and written to through the same
store the engine uses (bot/storage/chats.py), and reads of what it holds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from bot.engine import Engine
from bot.storage import chats
from bot.storage.db import id_of
from bot.storage.models import AuditEvent, ChatMessage, LiveChat, Outbox


def start_chat(
    engine: Engine,
    now: datetime,
    *,
    address: str = "+447700900123",
    channel: str = "sms",
    locale: str = "en",
    first: str = "hello, can I talk to someone",
    signals: Sequence[str] = (),
    later_texts_ok: bool = False,
    windows: list[dict] | None = None,
    is_message: bool = False,
) -> int:
    """A waiting chat whose person has written `first`, as the engine starts one."""
    with engine.db.session() as session:
        chat = chats.start_chat(
            session,
            engine.vault,
            person_key=engine.vault.person_key(channel, address),
            channel=channel,
            address=address,
            locale=locale,
            now=now,
            signals=signals,
            later_texts_ok=later_texts_ok,
            windows=windows,
            is_message=is_message,
        )
        chats.add_person_message(session, engine.vault, chat, first, list(signals), now)
        session.commit()
        return id_of(chat)


def person_says(
    engine: Engine, chat_id: int, text: str, now: datetime, signals: Sequence[str] = ()
) -> None:
    with engine.db.session() as session:
        chat = chats.get_chat(session, chat_id)
        assert chat is not None
        chats.add_person_message(session, engine.vault, chat, text, list(signals), now)
        session.commit()


def chat_row(engine: Engine, chat_id: int) -> LiveChat:
    with engine.db.session() as session:
        found = session.get(LiveChat, chat_id)
        assert found is not None
        session.expunge(found)
        session.commit()
    return found


def lines(engine: Engine, chat_id: int) -> list[chats.ChatLine]:
    with engine.db.session() as session:
        found = chats.messages(session, engine.vault, chat_id)
        session.commit()
    return found


def worker_rows(engine: Engine, chat_id: int) -> list[ChatMessage]:
    with engine.db.session() as session:
        found = list(
            session.execute(
                select(ChatMessage)
                .where(ChatMessage.chat_id == chat_id, ChatMessage.author == "worker")
                .order_by(ChatMessage.id)
            ).scalars()
        )
        session.commit()
    return found


def outbox_rows(engine: Engine) -> list[Outbox]:
    with engine.db.session() as session:
        found = list(session.execute(select(Outbox).order_by(Outbox.id)).scalars())
        session.commit()
    return found


def audit_rows(engine: Engine, action: str | None = None) -> list[AuditEvent]:
    with engine.db.session() as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        found = list(session.execute(query).scalars())
        session.commit()
    return found
