"""Notices that go out later through the outbox: the text before a call to a
person, and the staff notices to the staff chat.

A person gets a message only of a kind they agreed to (safety rule: nothing
is sent that a person did not ask for). Today that is the text before a call,
for people who said it is safe.

"We will call you in about 10 minutes" is true only for a few minutes, so the
row names its request and expires after TEXT_BEFORE_CALL_EXPIRY_MINUTES: the
worker sends it then or never (bot/outbox.py), and never once the person has
cancelled, the request is closed, or it is outside their safe times.

A person who asked on WhatsApp and gave the number they write from gets it on
WhatsApp, where a message we start may only be an approved template
(WHATSAPP_TEXT_BEFORE_CALL_CONTENT_SID); without one nothing is queued and
the handler is told why. A different safe number gets an SMS, as before.

The staff notices ("Urgent callback FD-7KQ2 waiting", a code-word lock-out)
go to TELEGRAM_STAFF_CHAT_ID, queued in the same transaction that creates the
request or locks the gate, so a rolled-back request never sends one and none
is queued twice (the dedupe key holds the reference). They hold the reference
and nothing personal. They live here, below the engine and the dashboard, so
the engine queues them without importing the dashboard.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.content.model import Content
from bot.outbox import enqueue, is_opted_out
from bot.settings import Settings, get_settings
from bot.storage import binding
from bot.storage.audit import record
from bot.storage.crypto import Vault
from bot.storage.models import CallbackRequest
from bot.storage.requests import PRACTICE_CHANNEL

STAFF_KIND = "staff_notice"
# Staff-facing and in English only: a reference is the one thing put in.
STAFF_NOTICE = "Urgent callback {reference} waiting"
CODE_WORD_NOTICE = (
    "Callback {reference}: wrong code word too many times. Someone else may have the phone."
)


def queue_text_before_call(
    session: Session,
    content: Content,
    vault: Vault,
    request: CallbackRequest,
    occasion: str,
    now: datetime,
    expires_in: timedelta | None = None,
    settings: Settings | None = None,
) -> str:
    """Queue the "we will call you soon" text; say why not when it may not go.

    Returns "queued", "already_queued", "not_agreed" (the person did not say a
    text first is safe), "not_open" (cancelled or closed), "no_number" or
    "opted_out", or "no_whatsapp_template" (a WhatsApp number, and no approved
    template set). `occasion` tells apart two calls to the same request (e.g.
    the attempt number). `expires_in` defaults to TEXT_BEFORE_CALL_EXPIRY_MINUTES.
    """
    settings = settings or get_settings()
    if request.text_first_ok is not True:
        return "not_agreed"
    if request.status not in ("open", "claimed") or request.id is None:
        return "not_open"
    number = vault.open(request.details_enc, binding.request_details(request.reference)).get(
        "phone"
    )
    if not number:
        return "no_number"
    channel, address, key = "sms", number, None
    if request.channel == "whatsapp" and vault.person_key("whatsapp", number) == request.person_key:
        if not settings.whatsapp_text_before_call_content_sid:
            return "no_whatsapp_template"
        channel, address, key = "whatsapp", f"whatsapp:{number}", request.person_key
    if is_opted_out(session, vault, number, key=key):
        return "opted_out"
    if expires_in is None:
        expires_in = timedelta(minutes=settings.text_before_call_expiry_minutes)
    locale = request.language if request.language in content.catalogs else "en"
    added = enqueue(
        session,
        vault,
        channel=channel,
        kind="text_before_call",
        address=address,
        person_key=key,
        text=content.text("notices.text_before_call", locale),
        dedupe_key=f"text_before_call:{request.reference}:{occasion}",
        now=now,
        request_id=request.id,
        expires_at=now + expires_in,
    )
    return "queued" if added else "already_queued"


def staff_notice_text(reference: str) -> str:
    return STAFF_NOTICE.format(reference=reference)


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
        kind=STAFF_KIND,
        address=chat,
        text=staff_notice_text(request.reference),
        dedupe_key=f"{STAFF_KIND}:{request.reference}",
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
        kind=STAFF_KIND,
        address=chat,
        text=CODE_WORD_NOTICE.format(reference=request.reference),
        dedupe_key=f"code_word_locked:{request.reference}:{now.isoformat()}",
        now=now,
    )
