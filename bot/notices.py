"""Messages to a person that go out later through the outbox, only when they
agreed to that kind (safety rule: nothing is sent that a person did not ask
for). Today that is the text before a call, for people who said it is safe.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.content.model import Content
from bot.outbox import enqueue, is_opted_out
from bot.storage.crypto import Vault
from bot.storage.models import CallbackRequest


def queue_text_before_call(
    session: Session,
    content: Content,
    vault: Vault,
    request: CallbackRequest,
    occasion: str,
    now: datetime,
) -> str:
    """Queue the "we will call you soon" text; say why not when it may not go.

    Returns "queued", "already_queued", "not_agreed" (the person did not say a
    text first is safe), "no_number" or "opted_out". `occasion` tells apart
    two calls to the same request (e.g. the attempt number).
    """
    if request.text_first_ok is not True:
        return "not_agreed"
    number = vault.open(request.details_enc).get("phone")
    if not number:
        return "no_number"
    if is_opted_out(session, vault, number):
        return "opted_out"
    locale = request.language if request.language in content.catalogs else "en"
    added = enqueue(
        session,
        vault,
        channel="sms",
        kind="text_before_call",
        address=number,
        text=content.text("notices.text_before_call", locale),
        dedupe_key=f"text_before_call:{request.reference}:{occasion}",
        now=now,
    )
    return "queued" if added else "already_queued"
