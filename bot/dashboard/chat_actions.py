"""What a worker may do with a live chat, decided by the server and audited.

The page only offers what is allowed; these functions decide again, because a
stale tab, a second tab or a hand-made request must never reach the person.
Each returns a reason code on refusal ("not_yours", "too_late", "long"...)
and records an audit event in the caller's transaction, either way. Audit
events name the chat ("chat-12") and hold codes: never the text, a number
or a name of the person.

Storage does the atomic work (bot/storage/chats.py); this module adds the
dashboard's rules: who may act, the two-segment confirmation, the outcome
codes, and turning a chat into a callback request from what the chat
already knows, so the person is never asked to repeat themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import select
from sqlmodel import Session, col

from bot.dashboard import audit
from bot.dashboard.attempts import OUTCOMES
from bot.settings import Settings
from bot.storage import chats, figures
from bot.storage.crypto import Vault
from bot.storage.db import id_of, utc
from bot.storage.models import CallbackRequest, LiveChat, StaffUser
from bot.storage.requests import SIGNAL_CODES, RequestStore
from bot.text import clean_free_text, sms_segments

REPLY_LIMIT = 1600  # Twilio's limit for one message; longer text is never sent
PHONE_CHANNELS = ("sms",)  # channels whose address is a number we can call


def reference_of(chat: LiveChat) -> str:
    """The chat's name in the audit trail and on the page (no personal data)."""
    return f"chat-{chat.id}"


def is_supervisor(user: StaffUser) -> bool:
    return user.role == "supervisor"


def may_read(chat: LiveChat, user: StaffUser) -> bool:
    """Transcripts are for the worker holding the chat (or who held it when it
    ended) and for supervisors."""
    return is_supervisor(user) or (chat.status != chats.WAITING and chat.claimed_by == user.id)


def holds(chat: LiveChat, user: StaffUser) -> bool:
    return chat.status == chats.OPEN and chat.claimed_by == user.id


@dataclass(frozen=True)
class Count:
    """What the server counts for a reply: the page's live counter says the same."""

    encoding: str
    segments: int
    characters: int


def count(text: str) -> Count:
    encoding, segments = sms_segments(text)
    return Count(encoding, segments if text else 0, len(text))


def refuse(session: Session, chat: LiveChat, user: StaffUser, reason: str, now: datetime) -> str:
    """Audit a refusal and hand its code back for the page to explain."""
    audit.record(session, "chat_refused", now, user, reference=reference_of(chat), detail=reason)
    return reason


# ----- claiming, transfer, take-over ------------------------------------------------


def claim(
    session: Session, chat: LiveChat, user: StaffUser, now: datetime, limit: int
) -> str | None:
    """Take a waiting chat; None when this worker got it, else why not
    ("taken" by someone first, "limit" reached, "ended")."""
    if chats.claim_chat(session, id_of(chat), id_of(user), now, limit):
        audit.record(session, "chat_claim", now, user, reference=reference_of(chat))
        figures.count(session, "chat_answered", now, channel=chat.channel)
        return None
    session.refresh(chat)
    if chat.status == chats.ENDED:
        reason = "ended"
    elif chat.status == chats.WAITING and chats.open_count(session, id_of(user)) >= limit:
        reason = "limit"
    else:
        reason = "taken"
    audit.record(session, "chat_claim_lost", now, user, reference=reference_of(chat), detail=reason)
    return reason


def transfer(
    session: Session, chat: LiveChat, user: StaffUser, to_name: str, now: datetime, limit: int
) -> str | None:
    """Hand an open chat to another active worker who has room for it."""
    if not holds(chat, user):
        return refuse(session, chat, user, "not_yours", now)
    target = session.execute(
        select(StaffUser).where(col(StaffUser.name) == to_name.strip().lower()[:60])
    ).scalar_one_or_none()
    if target is None or not target.active or target.id == user.id:
        return refuse(session, chat, user, "no_such_worker", now)
    if not chats.transfer_chat(session, id_of(chat), id_of(user), id_of(target), now, limit):
        session.refresh(chat)
        reason = "not_yours" if not holds(chat, user) else "their_limit"
        return refuse(session, chat, user, reason, now)
    audit.record(
        session,
        "chat_transfer",
        now,
        user,
        reference=reference_of(chat),
        detail=f"to:{target.name}",
    )
    return None


def take_over(session: Session, chat: LiveChat, user: StaffUser, now: datetime) -> str | None:
    if not is_supervisor(user):
        return refuse(session, chat, user, "supervisor_only", now)
    was_waiting = chat.status == chats.WAITING
    if not chats.take_over(session, id_of(chat), id_of(user), now):
        return refuse(session, chat, user, "ended", now)
    if was_waiting:
        figures.count(session, "chat_answered", now, channel=chat.channel)
    audit.record(session, "chat_take_over", now, user, reference=reference_of(chat))
    return None


# ----- replying ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    refusal: str | None
    count: Count


def reply(
    session: Session,
    vault: Vault,
    settings: Settings,
    chat: LiveChat,
    user: StaffUser,
    text: str,
    confirmed_long: bool,
    now: datetime,
) -> Sent:
    """Send a worker's line, if every rule allows it now.

    The rules, in order: there is something to send; the chat is open and
    this worker holds it; the person wrote within CHAT_REPLY_WINDOW_MINUTES
    (or said later texts are safe and it is inside their safe times); the
    text fits one provider message; and past CHAT_LONG_MESSAGE_SEGMENTS the
    worker ticked "send the longer message"."""
    text = text.replace("\r\n", "\n").strip()
    counted = count(text)
    if not clean_free_text(text, REPLY_LIMIT):
        return Sent(refuse(session, chat, user, "empty", now), counted)
    why = chats.can_reply(chat, id_of(user), now, settings.chat_reply_window_minutes)
    if why is not None:
        return Sent(refuse(session, chat, user, why, now), counted)
    if len(text) > REPLY_LIMIT:
        return Sent(refuse(session, chat, user, "too_long", now), counted)
    if counted.segments > settings.chat_long_message_segments and not confirmed_long:
        return Sent(refuse(session, chat, user, "long", now), counted)
    first = chat.last_staff_at is None
    chats.add_worker_message(session, vault, chat, id_of(user), text, now)
    if first:
        waited = (utc(now) - utc(chat.created_at)).total_seconds() / 60
        figures.count(session, "chat_first_reply", now, minutes=waited, channel=chat.channel)
    audit.record(
        session,
        "chat_reply",
        now,
        user,
        reference=reference_of(chat),
        detail=f"{counted.encoding}:{counted.segments}",
    )
    return Sent(None, counted)


# ----- ending ------------------------------------------------------------------------


def end(
    session: Session, chat: LiveChat, user: StaffUser, outcome: str, now: datetime
) -> str | None:
    """End the chat with one of the callback outcomes (holder or supervisor)."""
    if chat.status == chats.ENDED:
        return refuse(session, chat, user, "ended", now)
    if not (holds(chat, user) or is_supervisor(user)):
        return refuse(session, chat, user, "not_yours", now)
    if outcome not in OUTCOMES:
        return refuse(session, chat, user, "no_outcome", now)
    chats.end_chat(session, chat, outcome, now)
    audit.record(session, "chat_end", now, user, reference=reference_of(chat), detail=outcome)
    return None


def callback_number(chat: LiveChat, vault: Vault, given: str) -> str | None:
    """The number to call: an SMS chat's own number, or one the person gave in
    the chat (typed in by the worker) for other channels; None if not callable."""
    raw = chats.person_address(vault, chat) if chat.channel in PHONE_CHANNELS else given
    try:
        parsed = phonenumbers.parse(raw.strip(), "GB")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def to_callback(
    session: Session,
    vault: Vault,
    settings: Settings,
    chat: LiveChat,
    user: StaffUser,
    *,
    given_number: str,
    now: datetime,
    reference_prefix: str,
    teams: dict[str, str],
) -> tuple[str | None, str | None]:
    """Turn the chat into a callback request from what it knows (language,
    safe times, whether texts are safe, the safety codes) and end it.
    Returns (refusal, reference)."""
    if chat.status == chats.ENDED:
        return refuse(session, chat, user, "ended", now), None
    if not (holds(chat, user) or is_supervisor(user)):
        return refuse(session, chat, user, "not_yours", now), None
    if chat.request_id is not None:
        return refuse(session, chat, user, "already_requested", now), None
    number = callback_number(chat, vault, given_number)
    if number is None:
        reason = "no_number" if chat.channel in PHONE_CHANNELS else "need_number"
        return refuse(session, chat, user, reason, now), None
    codes = chats.signal_codes(chat)
    urgent = any(code in SIGNAL_CODES for code in codes)
    answers = {
        "phone": number,
        "language": chat.locale,
        "asap": not chat.windows,
        "windows": chat.windows or [],
        # The safest choices where the chat never asked: no voicemail, and a
        # text before calling only when the person said texts are safe.
        "voicemail": False,
        "text_first": bool(chat.later_texts_ok and chat.channel in PHONE_CHANNELS),
    }
    store = RequestStore(
        session,
        vault,
        chat.person_key,
        chat.channel,
        now,
        settings.retention_days,
        reference_prefix,
        teams,
        urgent_priority=settings.urgent_priority,
    )
    existing = store.open_request()
    if existing is not None:
        # One request per person: the one they already have is the one to call.
        reference = str(existing["reference"])
    else:
        reference = store.create(
            "me", answers, settings.urgent_priority if urgent else 0, flags=codes
        )
    request_id = session.execute(
        select(col(CallbackRequest.id)).where(col(CallbackRequest.reference) == reference)
    ).scalar_one()
    chats.link_request(session, chat, request_id)
    chats.end_chat(session, chat, "callback", now)
    audit.record(
        session,
        "chat_to_callback",
        now,
        user,
        reference=reference_of(chat),
        detail=f"request:{reference}",
    )
    audit.record(session, "chat_to_callback", now, user, reference=reference)
    return None, reference
