"""Messages sent later, by the worker: only kinds a person agreed to, never twice,
and nothing void.

A flow or the dashboard `enqueue`s a message (address and text sealed) in
its own transaction; `send_due` hands due rows to the channel's sender. A row
is marked `sending` and committed before the provider is called, so if the
worker dies mid-send the row is never sent again (a duplicate text could be
seen by the wrong person; a missing one is visible to staff as `sending`).
A sender says how a send went by returning `Sent` or raising `SendDeferred`
(surely not sent: try again later) or `SendRefused` (never try again). Texts
to a number that opted out are refused before any provider is called.

Every row says what it is for (`request_id`, None for staff notices) and
until when it makes sense (`expires_at`). Just before the provider is called
the row is checked again: its request must still exist and be open or
claimed, now must be inside the person's safe times (bot/windows.py, the
same rules the dashboard keeps to) and before the row's expiry. A row
that fails a check is marked `void` with a reason code in `last_error` (never
personal data) and counted; "we will call you in 10 minutes" is never sent to
someone who cancelled, outside their safe times, or an hour late. Cancelling
or closing a request deletes its pending rows in the same transaction
(bot/storage/requests.py, bot/dashboard/attempts.py), so the check here is
the second line, for whatever changed between queueing and sending.

A channel with rules of its own about what may go (WhatsApp: only approved
templates outside its 24-hour window) gives a `RuledSender`: its
`void_reason` is asked after the checks above, and it sends by kind.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from bot import windows as win
from bot.content.loader import read_yaml
from bot.settings import PROJECT_ROOT
from bot.storage import binding, chats
from bot.storage.crypto import Vault
from bot.storage.db import Database, core, rowcount, table_of, utc
from bot.storage.models import CallbackRequest, OutboundMessage, Outbox, SmsOptOut
from bot.storage.requests import OPEN_STATUSES

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_SECONDS = (30, 120, 600, 1800, 3600)  # then give up and mark failed
# A row queued without its own expiry (a staff notice) is void after this: an
# "urgent request waiting" notice half a day late helps nobody.
DEFAULT_EXPIRY = timedelta(hours=6)
# Statuses a row never leaves; purged after MESSAGE_RETENTION_HOURS (bot/worker.py).
FINISHED = ("sent", "failed", "refused", "void")


@dataclass(frozen=True, slots=True)
class Sent:
    """A provider accepted the message."""

    provider_id: str | None = None
    segments: int = 0
    encoding: str = ""


class SendDeferred(Exception):  # named as a verdict, like `Sent`
    """Surely not sent (no connection, rate limit, provider down): try again."""

    def __init__(self, code: str, retry_after: float | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after


class SendRefused(Exception):
    """Never try again: the provider refused (bad number, blocked, opted out)."""

    def __init__(self, code: str, opted_out: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.opted_out = opted_out


class Sender(Protocol):
    """One channel's way of sending a text to an address."""

    channel: str

    async def send(self, address: str, text: str) -> Sent: ...


@runtime_checkable
class RuledSender(Protocol):
    """A sender whose channel decides per row what may go and how (WhatsApp)."""

    channel: str

    def void_reason(self, session: Session, row: Outbox, now: datetime) -> str | None:
        """The channel's own reason this row must not go now (a code), or None."""
        ...

    def send_as(self, session: Session, row: Outbox, now: datetime) -> str:
        """The kind this row goes as now: its own, or a stand-in such as an
        approved notice template (a live-chat line held until the person replies)."""
        ...

    async def send_kind(self, kind: str, address: str, text: str) -> Sent:
        """Send one row's message, written as the channel requires for its kind."""
        ...


def enqueue(
    session: Session,
    vault: Vault,
    *,
    channel: str,
    kind: str,
    address: str,
    text: str,
    dedupe_key: str,
    now: datetime,
    person_key: str | None = None,
    request_id: int | None = None,
    expires_at: datetime | None = None,
) -> bool:
    """Queue one message inside the caller's transaction; False if already queued.

    `dedupe_key` names the one occasion (e.g. "text_before_call:FD-7KQ2:1"),
    so asking twice queues once. For SMS the person key is the number's, so an
    opt-out is found without opening the payload. A message for a person names
    the `request_id` it belongs to, so it is void once that request is not
    open; `expires_at` (default `DEFAULT_EXPIRY` from now) is when it is void anyway.
    """
    if person_key is None and channel == "sms":
        person_key = vault.person_key("sms", address)
    if expires_at is None:
        expires_at = now + DEFAULT_EXPIRY
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = session.execute(
        insert(Outbox)
        .values(
            channel=channel,
            kind=kind,
            dedupe_key=dedupe_key,
            person_key=person_key,
            payload_enc=vault.seal(
                {"address": address, "text": text}, binding.outbox_payload(dedupe_key)
            ),
            request_id=request_id,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            expires_at=expires_at,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(col(Outbox.id))
    )
    return result.scalar_one_or_none() is not None


def drop_pending(session: Session, request_id: int) -> int:
    """Delete a request's unsent rows in the caller's transaction (it was closed
    or cancelled, so what was queued for it is void); returns how many."""
    return rowcount(
        session.execute(
            delete(Outbox)
            .where(col(Outbox.request_id) == request_id)
            .where(col(Outbox.status) == "pending")
        )
    )


def callback_hours(content_dir: Path) -> list[win.Window]:
    """The service's callback hours (content/data/service.yaml): the safe times
    of a request that said "as soon as possible"."""
    raw = read_yaml(content_dir / "data" / "service.yaml")
    return win.service_hours(raw.data or {})


@lru_cache(maxsize=1)
def _shipped_hours() -> tuple[win.Window, ...]:
    return tuple(callback_hours(PROJECT_ROOT / "content"))


def void_reason(
    session: Session, row: Outbox, now: datetime, hours: list[win.Window]
) -> str | None:
    """Why this row must not be sent now (a code), or None when it may go."""
    if row.kind == chats.OUTBOX_KIND:
        chat = chats.chat_of_outbox(session, row.id or 0)
        if chat is None:
            return "chat_gone"
        if chat.outcome in chats.PERSON_LEFT:
            return "chat_left"
    request = None
    if row.request_id is not None:
        request = session.get(CallbackRequest, row.request_id)
        if request is None:
            return "request_gone"
        if request.status not in OPEN_STATUSES:
            return f"request_{request.status}"[:40]
    if utc(row.expires_at) <= utc(now):
        return "expired"
    if request is not None:
        allowed = win.effective(request.safe_windows or [], request.asap, hours)
        if not win.inside(allowed, now):
            return "outside_safe_times"
    return None


_OPTED_OUT = select(table_of(SmsOptOut).c.address_key).where(
    table_of(SmsOptOut).c.address_key == bindparam("key")
)


def is_opted_out(session: Session, vault: Vault, number: str, key: str | None = None) -> bool:
    """Whether an SMS number said STOP (or the carrier refuses it). `key`: the
    number's person key when the caller has it already (computed once a message)."""
    found = core(session).execute(_OPTED_OUT, {"key": key or vault.person_key("sms", number)})
    return found.first() is not None


@dataclass
class SendCounts:
    sent: int = 0
    deferred: int = 0
    refused: int = 0
    failed: int = 0
    void: int = 0
    errors: int = 0  # rows whose handling broke (left `sending`: never sent twice)
    reasons: Counter[str] = field(default_factory=Counter)  # void reason codes


def _claim_due(
    db: Database, now: datetime, channels: set[str], limit: int, kinds: set[str] | None = None
) -> list[int]:
    """Mark due rows `sending` and commit, so no other worker (or retry) sends them."""
    with db.session() as session:
        query = (
            select(Outbox)
            .where(col(Outbox.status) == "pending")
            .where(col(Outbox.next_attempt_at) <= now)
            .where(col(Outbox.channel).in_(channels))
            .order_by(col(Outbox.next_attempt_at), col(Outbox.id))
            .limit(limit)
        )
        if kinds is not None:
            query = query.where(col(Outbox.kind).in_(kinds))
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        rows = list(session.execute(query).scalars())
        for row in rows:
            row.status = "sending"
            row.attempts += 1
            session.add(row)
        session.commit()
        return [row.id for row in rows if row.id is not None]


async def send_due(
    db: Database,
    vault: Vault,
    senders: Mapping[str, Sender],
    now: datetime,
    limit: int = 50,
    *,
    hours: list[win.Window] | None = None,
    clock: Callable[[], datetime] | None = None,
    kinds: set[str] | None = None,
) -> SendCounts:
    """Send every due message of a channel that has a sender; record how it went.

    `hours` are the service's callback hours (default: the shipped content's).
    `clock`, when given, is read again just before each send, so a slow
    provider cannot push a row past its expiry or safe time unnoticed.
    `kinds` limits the round to those kinds (the web app's quick round for
    live-chat lines, bot/web/chat_delivery.py).
    """
    counts = SendCounts()
    if not senders:
        return counts
    hours = list(_shipped_hours()) if hours is None else hours
    for outbox_id in _claim_due(db, now, set(senders), limit, kinds):
        at = clock() if clock is not None else now
        try:
            await _send_one(db, vault, senders, outbox_id, at, hours, counts)
        except Exception as fault:  # noqa: BLE001 - one bad row never stops the others
            log.error("outbox row %d broke: %s", outbox_id, type(fault).__name__)
            counts.errors += 1
    return counts


async def _send_one(
    db: Database,
    vault: Vault,
    senders: Mapping[str, Sender],
    outbox_id: int,
    now: datetime,
    hours: list[win.Window],
    counts: SendCounts,
) -> None:
    with db.session() as session:
        row = session.get(Outbox, outbox_id)
        if row is None:
            return  # its request was cancelled or purged after the row was claimed
        reason = void_reason(session, row, now, hours)
        payload: dict = {}
        if reason is None:
            try:
                payload = vault.open(row.payload_enc, binding.outbox_payload(row.dedupe_key))
            except Exception:  # noqa: BLE001 - corrupt or sealed with another key
                reason = "unreadable"
        ruled = senders[row.channel]
        send_as = row.kind
        if reason is None and isinstance(ruled, RuledSender):
            reason = ruled.void_reason(session, row, now)
            if reason is None:
                send_as = ruled.send_as(session, row, now)
        refused_before = (
            reason is None
            and row.channel == "sms"
            and is_opted_out(session, vault, payload["address"])
        )
        session.commit()
    if reason is not None:
        log.info("outbox row %d void: %s", outbox_id, reason)
        _finish(db, outbox_id, "void", reason, now)
        counts.void += 1
        counts.reasons[reason] += 1
        return
    if refused_before:
        _finish(db, outbox_id, "refused", "opted_out", now)
        counts.refused += 1
        return
    try:
        sender = senders[row.channel]
        if isinstance(sender, RuledSender):
            sent = await sender.send_kind(send_as, payload["address"], payload["text"])
        else:
            sent = await sender.send(payload["address"], payload["text"])
    except SendDeferred as deferred:
        _defer(db, row, deferred, now)
        counts.deferred += 1
        return
    except SendRefused as refused:
        if refused.opted_out:
            _record_opt_out(db, vault, payload["address"], now)
        _finish(db, outbox_id, "refused", refused.code, now)
        counts.refused += 1
        return
    except Exception as error:  # noqa: BLE001 - unknown: maybe sent, so never again
        log.error("outbox send %d failed with %s", outbox_id, type(error).__name__)
        _finish(db, outbox_id, "failed", type(error).__name__[:40], now)
        counts.failed += 1
        return
    with db.session() as session:
        stored = session.get(Outbox, outbox_id)
        if stored is not None:
            stored.status, stored.sent_at = "sent", now
            session.add(stored)
            session.add(
                OutboundMessage(
                    channel=row.channel,
                    person_key=row.person_key or "",
                    outbox_id=outbox_id,
                    provider_id=sent.provider_id,
                    segments=sent.segments,
                    encoding=sent.encoding,
                    status="sent",
                    created_at=now,
                    updated_at=now,
                )
            )
            if row.kind == chats.OUTBOX_KIND:
                _chat_line_sent(session, row, stand_in=send_as != row.kind)
        session.commit()
    counts.sent += 1


def _chat_line_sent(session: Session, row: Outbox, stand_in: bool = False) -> None:
    """A worker's chat line went. A Telegram send result is delivery itself
    (and its sender keeps the message id for the EXIT wipe); an SMS waits for
    Twilio's status callback to say "delivered". When a stand-in went instead
    (WhatsApp's notice template), the line waits as "notified" for the
    person's reply."""
    if stand_in:
        chats.mark_delivery(session, row.id or 0, "notified")
        return
    delivered = row.channel == "telegram"
    chats.mark_delivery(session, row.id or 0, "delivered" if delivered else "sent")


def _defer(db: Database, row: Outbox, deferred: SendDeferred, now: datetime) -> None:
    if row.attempts >= MAX_ATTEMPTS:
        _finish(db, row.id or 0, "failed", deferred.code, now)
        return
    wait: float = BACKOFF_SECONDS[min(row.attempts - 1, len(BACKOFF_SECONDS) - 1)]
    if deferred.retry_after is not None:
        wait = max(wait, deferred.retry_after)
    with db.session() as session:
        stored = session.get(Outbox, row.id)
        if stored is not None:
            stored.status = "pending"
            stored.last_error = deferred.code[:40]
            stored.next_attempt_at = utc(now) + timedelta(seconds=wait)
            session.add(stored)
        session.commit()


def _finish(db: Database, outbox_id: int, status: str, code: str, now: datetime) -> None:
    with db.session() as session:
        stored = session.get(Outbox, outbox_id)
        if stored is not None:
            stored.status, stored.last_error = status, code[:40]
            session.add(stored)
            if stored.kind == chats.OUTBOX_KIND:
                chats.mark_delivery(session, outbox_id, "failed")  # staff see it did not go
        session.commit()


def _record_opt_out(db: Database, vault: Vault, number: str, now: datetime) -> None:
    with db.session() as session:
        record_opt_out(session, vault, number, "carrier", now)
        session.commit()


def record_opt_out(
    session: Session, vault: Vault, number: str, source: str, now: datetime, key: str | None = None
) -> None:
    """Remember that nothing may be sent to this number (idempotent)."""
    key = key or vault.person_key("sms", number)
    if session.get(SmsOptOut, key) is None:
        session.add(SmsOptOut(address_key=key, source=source, opted_out_at=now))


def clear_opt_out(session: Session, vault: Vault, number: str, key: str | None = None) -> bool:
    """The number texted START, UNSTOP or YES: it may be texted again."""
    found = session.get(SmsOptOut, key or vault.person_key("sms", number))
    if found is None:
        return False
    session.delete(found)
    return True


def run_sends(
    db: Database,
    vault: Vault,
    senders: Mapping[str, Sender],
    now: datetime,
    hours: list[win.Window] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> SendCounts:
    """`send_due` for the synchronous worker loop."""
    return asyncio.run(send_due(db, vault, senders, now, hours=hours, clock=clock))
