"""Background jobs: send what is due from the outbox, and forget what is no
longer needed, on a schedule.

- Outbox messages go out through each channel that has credentials (see
  bot/outbox.py for retries and the never-twice rule).
- Telegram replies a webhook could not send (a Bot API outage, a process
  killed mid-send) are finished here (bot/storage/deliveries.py): at least
  once, never lost.

- Callback requests past their retention date are deleted, with the
  dashboard's call attempts (and their sealed notes) for them.
- Handled message ids (kept so provider retries get the same answer) and
  Telegram message ids (kept so EXIT can delete them; Telegram allows that
  for 48 hours) are deleted after MESSAGE_RETENTION_HOURS.
- Delivery records of sent messages are deleted after RETENTION_DAYS.
- Conversations idle past the inactivity timeout lose their unconfirmed
  answers, so a half-finished request never lingers in the database.
- Dashboard claims nobody has acted on for CLAIM_RELEASE_MINUTES go back to
  the queue, so a forgotten claim never leaves a person waiting; dashboard
  sessions that ended and sign-in failures that no longer count are deleted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from bot.dashboard.claims import release_idle
from bot.dashboard.sessions import forget_stale
from bot.engine import Engine
from bot.outbox import Sender, run_sends
from bot.settings import Settings, get_settings
from bot.storage.crypto import Vault
from bot.storage.db import Database
from bot.storage.models import (
    CallAttempt,
    CallbackRequest,
    Conversation,
    HandledMessage,
    OutboundMessage,
    TelegramMessage,
)

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 60
SEND_INTERVAL_SECONDS = 5


def build_senders(settings: Settings) -> dict[str, Sender]:
    """A sender for each channel that has credentials; the rest stay off."""
    senders: dict[str, Sender] = {}
    if settings.sms_enabled:
        from bot.channels.sms import SmsSender

        senders["sms"] = SmsSender(settings)
    if settings.telegram_enabled:
        from bot.channels.telegram import TelegramSender

        senders["telegram"] = TelegramSender(settings)
    return senders


@dataclass
class PurgeCounts:
    requests: int = 0
    messages: int = 0
    conversations: int = 0
    telegram_ids: int = 0
    deliveries: int = 0
    claims: int = 0
    sign_ins: int = 0


def purge(
    db: Database, vault: Vault, settings: Settings, now: datetime | None = None
) -> PurgeCounts:
    now = now or datetime.now(UTC)
    counts = PurgeCounts()
    with db.session() as session:
        counts.requests = session.execute(
            delete(CallbackRequest).where(CallbackRequest.retain_until < now)
        ).rowcount
        session.execute(
            delete(CallAttempt).where(CallAttempt.request_id.not_in(select(CallbackRequest.id)))
        )
        message_cutoff = now - timedelta(hours=settings.message_retention_hours)
        counts.messages = session.execute(
            delete(HandledMessage).where(HandledMessage.handled_at < message_cutoff)
        ).rowcount
        counts.telegram_ids = session.execute(
            delete(TelegramMessage).where(TelegramMessage.sent_at < message_cutoff)
        ).rowcount
        counts.deliveries = session.execute(
            delete(OutboundMessage).where(
                OutboundMessage.created_at < now - timedelta(days=settings.retention_days)
            )
        ).rowcount
        idle_since = now - timedelta(minutes=settings.inactivity_timeout_minutes)
        query = select(Conversation).where(Conversation.last_activity < idle_since)
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        empty = vault.seal({})
        for conversation in session.execute(query).scalars():
            # The place is kept so the next message is told it starts afresh.
            if vault.open(conversation.slots_enc):
                conversation.slots_enc = empty
                session.add(conversation)
                counts.conversations += 1
        counts.claims = release_idle(session, now, settings.claim_release_minutes)
        counts.sign_ins = forget_stale(
            session, now, settings.dashboard_idle_minutes, settings.login_lockout_minutes
        )
        session.commit()
    return counts


def finish_replies(engine: Engine | None) -> int:
    """Telegram replies left unsent by a webhook; 0 when Telegram is off."""
    if engine is None:
        return 0
    from bot.channels.telegram import finish_unfinished

    try:
        return asyncio.run(finish_unfinished(engine))
    except Exception as fault:  # noqa: BLE001 - one failed round never stops the worker
        log.error("finishing Telegram replies failed: %s", type(fault).__name__)
        return 0


def run_worker(once: bool = False) -> int:
    settings = get_settings()
    db = Database(settings.sqlalchemy_url, settings.db_timeout_seconds)
    vault = Vault(settings.secret())
    senders = build_senders(settings)
    replier = Engine(settings=settings, database=db) if settings.telegram_enabled else None
    log.info("worker started; sending on: %s", ", ".join(sorted(senders)) or "no channel")
    while True:
        for _ in range(INTERVAL_SECONDS // SEND_INTERVAL_SECONDS):
            finished = finish_replies(replier)
            if finished:
                log.info("telegram: %d unsent repl(ies) finished", finished)
            sent = run_sends(db, vault, senders, datetime.now(UTC))
            if sent.sent or sent.deferred or sent.refused or sent.failed:
                log.info(
                    "outbox: %d sent, %d to retry, %d refused, %d failed",
                    sent.sent,
                    sent.deferred,
                    sent.refused,
                    sent.failed,
                )
            if once:
                break
            time.sleep(SEND_INTERVAL_SECONDS)
        counts = purge(db, vault, settings)
        log.info(
            "purged %d request(s), %d message id(s), %d idle conversation(s), "
            "%d Telegram message id(s), %d delivery record(s), %d idle claim(s) released",
            counts.requests,
            counts.messages,
            counts.conversations,
            counts.telegram_ids,
            counts.deliveries,
            counts.claims,
        )
        if once:
            return 0
