"""Caps per client address for the web chat, on top of the per-session cap every
channel has (bot/channels/sender_caps.py).

A web page costs nothing to open, so one address could start chat after chat
or spread a flood across them. Both are counted per address (keyed hash of
the address, never the address itself) in the same per-sender table. The caps
are generous, because a library, a refuge or a mobile network may put many
people behind one address; and as everywhere, EXIT always passes and danger
always gets the emergency guidance.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from bot.channels.sender_caps import NOTICE
from bot.engine import Engine
from bot.storage.floods import admit, admit_in
from bot.text import normalise
from bot.types import Reply

log = logging.getLogger(__name__)

CHATS_WINDOW = timedelta(hours=1)
BUSY = "webchat.busy"


def _key(engine: Engine, kind: str, address: str) -> str:
    return engine.vault.person_key(f"webchat-{kind}", address)


def may_start_chat(engine: Engine, address: str, now: datetime) -> bool:
    """Count one new chat from this client address; False past the hourly cap."""
    try:
        verdict = admit(
            engine.db,
            _key(engine, "chats", address),
            now,
            engine.settings.webchat_address_max_chats,
            CHATS_WINDOW,
        )
    except DBAPIError:
        return True  # storage is away: the engine answers from memory anyway
    if verdict == "notice":
        log.info("web chat: a client address went over the new-chat cap")
    return verdict == "ok"


def busy_replies(engine: Engine, locale: str) -> list[Reply]:
    """What a refused new chat gets: wait, and the emergency guidance."""
    return [
        engine.content.reply(BUSY, locale, options=[]),
        engine.content.reply("words.danger", locale, options=[]),
    ]


def over_address_cap(
    engine: Engine,
    session: Session,
    address: str,
    text: str,
    locale: str,
    now: datetime,
    *,
    exiting: bool,
) -> list[Reply] | None:
    """Count one message from this client address inside the turn's transaction;
    None when it goes on to the engine, else the whole answer."""
    if exiting or engine.words.command(normalise(text)) == "exit":
        return None
    settings = engine.settings
    verdict = admit_in(
        session,
        engine.db.is_postgres,
        _key(engine, "messages", address),
        now,
        settings.webchat_address_max_messages,
        timedelta(seconds=settings.sender_window_seconds),
    )
    if verdict == "ok":
        return None
    if verdict == "notice":
        log.info("web chat: a client address went over the message cap and is slowed")
    replies: list[Reply] = []
    screening = engine.screen.read(text, locale)
    if screening.has("danger_now"):
        language = screening.language if screening.language in engine.locales else locale
        replies.append(engine.content.reply("words.danger", language, options=[]))
    replies.append(engine.content.reply(NOTICE, locale, options=[]))
    return replies
