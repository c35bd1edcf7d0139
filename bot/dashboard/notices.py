"""The staff notice for an urgent request: "Urgent callback FD-7KQ2 waiting".

It goes to the staff Telegram chat (TELEGRAM_STAFF_CHAT_ID) through the
worker's outbox, queued in the same transaction that creates the request, so
a request that is rolled back never sends a notice and a notice is never
queued twice (its dedupe key is the reference). It holds the reference and
nothing personal; the words are in templates/staff_notice.txt.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlmodel import Session

from bot.dashboard.audit import record
from bot.dashboard.queue import PRACTICE_CHANNEL
from bot.outbox import enqueue
from bot.settings import Settings
from bot.storage.crypto import Vault
from bot.storage.models import CallbackRequest

KIND = "staff_notice"
_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    undefined=StrictUndefined,
    autoescape=False,  # noqa: S701 - plain text for Telegram; only a reference is put in
    keep_trailing_newline=False,
)


def staff_notice_text(reference: str) -> str:
    return _TEMPLATES.get_template("staff_notice.txt").render(reference=reference).strip()


def notify_staff(
    session: Session, vault: Vault, settings: Settings, request: CallbackRequest, now: datetime
) -> bool:
    """Queue the notice if the request is urgent and a staff chat is set; True if queued.
    Practice requests (made in the simulator) never reach the staff chat."""
    chat = settings.telegram_staff_chat_id.strip()
    if not chat or request.priority < settings.urgent_priority:
        return False
    if request.channel == PRACTICE_CHANNEL:
        return False
    return enqueue(
        session,
        vault,
        channel="telegram",
        kind=KIND,
        address=chat,
        text=staff_notice_text(request.reference),
        dedupe_key=f"{KIND}:{request.reference}",
        now=now,
    )


def notify_code_word_lock(
    session: Session, vault: Vault, settings: Settings, request: CallbackRequest, now: datetime
) -> bool:
    """Someone gave wrong code words for this request until locked out: audit it
    and tell the staff chat (reference only), once per lock; True if queued."""
    record(session, "code_word_locked", now, reference=request.reference, detail=request.channel)
    chat = settings.telegram_staff_chat_id.strip()
    if not chat:
        return False
    return enqueue(
        session,
        vault,
        channel="telegram",
        kind=KIND,
        address=chat,
        text=_TEMPLATES.get_template("code_word_notice.txt")
        .render(reference=request.reference)
        .strip(),
        dedupe_key=f"code_word_locked:{request.reference}:{now.isoformat()}",
        now=now,
    )
