"""Per-sender caps for every channel: a flood is answered calmly once, then slowed.

Past SENDER_MAX_MESSAGES in SENDER_WINDOW_SECONDS a sender's messages are
not run through the engine: the first gets "you're sending a lot of
messages", later ones nothing. Two things always pass: EXIT goes to the
engine as usual (it must always work), and a message the safety screen
reads as danger now gets the emergency guidance whatever the count.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from bot.engine import Engine
from bot.storage.floods import admit, admit_in
from bot.text import normalise
from bot.types import Reply

log = logging.getLogger(__name__)

NOTICE = "channels.too_many"


@dataclass(frozen=True, slots=True)
class Capped:
    """A message over the cap: what to answer instead of running the engine
    (nothing, the calm notice, or the emergency guidance first)."""

    replies: list[Reply]
    urgent: bool = False


def over_cap(
    engine: Engine,
    channel: str,
    address: str,
    text: str,
    now: datetime,
    *,
    command: str | None = None,
    locale_hint: str | None = None,
    session: Session | None = None,
    person: str | None = None,
) -> Capped | None:
    """Count one message; None when it goes to the engine as usual. With a
    `session` (the turn's own transaction) it counts there; a storage failure
    then fails the whole turn, which the engine answers from memory."""
    if command == "exit" or (command is None and engine.words.command(normalise(text)) == "exit"):
        return None
    settings = engine.settings
    person = person or engine.vault.person_key(channel, address)
    window = timedelta(seconds=settings.sender_window_seconds)
    cap = settings.sender_max_messages
    if session is not None:
        verdict = admit_in(session, engine.db.is_postgres, person, now, cap, window)
    else:
        try:
            verdict = admit(engine.db, person, now, cap, window)
        except DBAPIError:
            return None  # storage is away: the engine answers from memory
    if verdict == "ok":
        return None
    if verdict == "notice":  # once per flood, so a flood never floods the log
        log.info("%s: a sender went over the cap and is slowed", channel)
    # The notice in the person's language (one small read), also the language
    # of the guidance when the screen cannot tell the message's own.
    notice = (
        engine.notice(channel, address, NOTICE, locale_hint)
        if session is None
        else engine.notice_in(session, person, NOTICE, locale_hint)
    )
    screening = engine.screen.read(text, notice.locale)
    replies: list[Reply] = []
    if screening.has("danger_now"):
        language = screening.language if screening.language in engine.locales else notice.locale
        replies.append(engine.content.reply("words.danger", language, options=[]))
    if verdict == "notice":
        replies.append(notice)
    return Capped(replies, urgent=screening.has("danger_now"))
