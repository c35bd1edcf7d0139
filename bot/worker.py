"""Background jobs: send what is due from the outbox, and forget what is no
longer needed, on a schedule.

- Outbox messages go out through each channel that has credentials (see
  bot/outbox.py for retries, the never-twice rule and why a row is void).
- Telegram replies a webhook could not send (a Bot API outage, a process
  killed mid-send) are finished here (bot/storage/deliveries.py): at least
  once, never lost.

Every job runs guarded: one that fails (a database away, a provider down, a
row that cannot be decrypted) logs the error's type only and the loop goes
on with the next job; the worker never exits on one bad row.

`purge` keeps the retention promises. Retention is counted from each row's
creation time at purge time, so lowering a setting applies to rows already
stored. Each step is its own transaction, so one failing step never keeps
the others from deleting; a row whose sealed data cannot be decrypted is
deleted or wiped anyway (retention beats readability) and counted.

- Callback requests older than RETENTION_DAYS (or past the retain_until the
  person was told) are deleted with their call attempts (sealed notes) and
  outbox rows, in one transaction.
- Cancelled requests keep no personal details (bot/storage/requests.py
  forgets them at once; rows cancelled before that are wiped here).
- Outbox rows that are finished (sent, void, failed, refused) or expired are
  deleted MESSAGE_RETENTION_HOURS after they were queued, as are handled
  message ids (kept so provider retries get the same answer, with the sealed
  replies) and Telegram message ids (kept so EXIT can delete them; Telegram
  allows that for 48 hours).
- Delivery records of sent messages are deleted after RETENTION_DAYS.
- Conversations that never got past the greeting, with no open request,
  are deleted after STUB_CONVERSATION_MINUTES idle (a flood of new senders
  never grows storage without bound); per-sender flood counters are
  forgotten an hour after a sender goes quiet, and hashed Twilio MessageSids
  (kept so a replay runs nothing) after MESSAGE_ID_RETENTION_DAYS.
- Conversations idle past the inactivity timeout lose their unconfirmed
  answers, so a half-finished request never lingers in the database; a
  conversation idle for CONVERSATION_RETENTION_DAYS whose person has no open
  request is deleted.
- Audit events older than AUDIT_RETENTION_DAYS are deleted with a core DELETE
  on the table: the ORM refuses to delete audit events (bot/dashboard/audit.py)
  so that nothing else can rewrite history, and this is the one exception.
- Dashboard claims nobody has acted on for CLAIM_RELEASE_MINUTES go back to
  the queue, so a forgotten claim never leaves a person waiting; dashboard
  sessions that ended and sign-in failures that no longer count are deleted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, delete, exists, func, or_, select
from sqlmodel import Session, col

from bot import windows as win
from bot.dashboard.claims import release_idle
from bot.dashboard.sessions import forget_stale
from bot.engine import Engine
from bot.error_reporting import init_error_reporting, report_current_exception
from bot.outbox import FINISHED, SendCounts, Sender, callback_hours, run_sends
from bot.settings import Settings, get_settings
from bot.storage import binding, chats
from bot.storage.crypto import Vault
from bot.storage.db import Database, rowcount, table_of
from bot.storage.floods import forget_quiet
from bot.storage.keys import open_vault
from bot.storage.models import (
    AuditEvent,
    CallAttempt,
    CallbackRequest,
    Conversation,
    HandledMessage,
    OutboundMessage,
    Outbox,
    TelegramMessage,
)
from bot.storage.replays import forget_old
from bot.storage.request_access import forget_stale_locks
from bot.storage.requests import OPEN_STATUSES, forget_request_data
from bot.web.metrics import record_purged

log = logging.getLogger(__name__)
INTERVAL_SECONDS = 60
SEND_INTERVAL_SECONDS = 5
CHUNK = 500  # ids per IN (...) list
# A conversation still here never got past the greeting (bot/flows/first_contact.py).
STUB_FLOW = "first_contact"
STUB_STATES = ("new", "safe_to_text")
T = TypeVar("T")


def build_senders(settings: Settings) -> dict[str, Sender]:
    """A sender for each channel that has credentials; the rest stay off."""
    from bot.channels.registry import channels

    senders: dict[str, Sender] = {}
    for parts in channels():
        sender = parts.sender(settings)
        if sender is not None:
            senders[parts.name] = sender
    return senders


@dataclass
class PurgeCounts:
    requests: int = 0
    cancelled_wiped: int = 0  # cancelled requests still holding details (from before)
    messages: int = 0
    conversations: int = 0  # idle drafts wiped
    conversations_deleted: int = 0
    telegram_ids: int = 0
    outbox: int = 0
    deliveries: int = 0
    audit: int = 0
    claims: int = 0
    sign_ins: int = 0
    unreadable: int = 0  # sealed data that could not be decrypted, wiped or deleted anyway
    stubs: int = 0  # conversations that never got past the greeting
    sender_counts: int = 0  # flood counters of senders gone quiet
    seen_ids: int = 0  # hashed Twilio MessageSids past MESSAGE_ID_RETENTION_DAYS
    chats: int = 0  # live chats (and their sealed lines) past CHAT_TRANSCRIPT_DAYS
    failed_steps: list[str] = field(default_factory=list)


Step = Callable[[Session, Vault, Settings, datetime, PurgeCounts, bool], None]


def purge(
    db: Database, vault: Vault, settings: Settings, now: datetime | None = None
) -> PurgeCounts:
    """Delete everything past its retention; each step in its own transaction."""
    now = now or datetime.now(UTC)
    counts = PurgeCounts()
    steps: list[tuple[str, Step]] = [
        ("requests", _purge_requests),
        ("chats", _purge_chats),
        ("cancelled", _wipe_cancelled),
        ("outbox", _purge_outbox),
        ("messages", _purge_messages),
        ("deliveries", _purge_deliveries),
        ("idle_answers", _wipe_idle_answers),
        ("conversations", _purge_conversations),
        ("stubs", _purge_stubs),
        ("sender_counts", _forget_sender_counts),
        ("seen_ids", _forget_seen_ids),
        ("code_word_locks", _forget_code_word_locks),
        ("audit", _purge_audit),
        ("claims", _release_claims),
        ("sign_ins", _forget_sign_ins),
    ]
    for name, step in steps:
        before = replace(counts)
        try:
            with db.session() as session:
                step(session, vault, settings, now, counts, db.is_postgres)
                session.commit()
        except Exception as fault:  # noqa: BLE001 - the next step still runs
            log.error("purge step %s failed: %s", name, type(fault).__name__)
            counts = replace(before, failed_steps=[*before.failed_steps, name])
    return counts


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]


def _purge_requests(
    session: Session,
    _vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    _pg: bool,
) -> None:
    """Requests past retention, with their attempts and outbox rows, together."""
    cutoff = now - timedelta(days=settings.retention_days)
    ids = list(
        session.execute(
            select(col(CallbackRequest.id)).where(
                or_(
                    col(CallbackRequest.created_at) < cutoff,
                    col(CallbackRequest.retain_until) < now,
                )
            )
        ).scalars()
    )
    for chunk in _chunks(ids):
        session.execute(delete(Outbox).where(col(Outbox.request_id).in_(chunk)))
        session.execute(delete(CallAttempt).where(col(CallAttempt.request_id).in_(chunk)))
        counts.requests += rowcount(
            session.execute(delete(CallbackRequest).where(col(CallbackRequest.id).in_(chunk)))
        )
    known = select(col(CallbackRequest.id))
    session.execute(delete(CallAttempt).where(col(CallAttempt.request_id).not_in(known)))
    session.execute(
        delete(Outbox)
        .where(col(Outbox.request_id).is_not(None))
        .where(col(Outbox.request_id).not_in(known))
    )


def _opens(vault: Vault, blob: bytes, context: bytes, counts: PurgeCounts) -> bool:
    """Whether sealed data can be decrypted; counted when it cannot."""
    try:
        vault.open(blob, context)
    except Exception:  # noqa: BLE001 - corrupt, truncated or sealed with another key
        counts.unreadable += 1
        return False
    return True


def _wipe_cancelled(
    session: Session,
    vault: Vault,
    _settings: Settings,
    _now: datetime,
    counts: PurgeCounts,
    pg: bool,
) -> None:
    """Cancelled requests that still hold details (cancelled before `cancel`
    forgot them at once) lose them. A sealed empty dict has a known length and
    anything else holds data, so rows are found without decrypting them."""
    empty = len(vault.seal({}, b""))  # the length is the same for every row
    query = (
        select(CallbackRequest)
        .where(col(CallbackRequest.status) == "cancelled")
        .where(func.length(CallbackRequest.details_enc) != empty)
    )
    if pg:
        query = query.with_for_update(skip_locked=True)
    for request in session.execute(query).scalars():
        context = binding.request_details(request.reference)
        _opens(vault, request.details_enc, context, counts)
        request.details_enc = vault.seal({}, context)
        session.add(request)
        forget_request_data(session, request.id)
        counts.cancelled_wiped += 1


def _purge_outbox(
    session: Session,
    _vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    _pg: bool,
) -> None:
    """Outbox rows that can no longer go (finished or expired), after a while."""
    cutoff = now - timedelta(hours=settings.message_retention_hours)
    counts.outbox = rowcount(
        session.execute(
            delete(Outbox)
            .where(col(Outbox.created_at) < cutoff)
            .where(or_(col(Outbox.status).in_(FINISHED), col(Outbox.expires_at) < now))
        )
    )


def _purge_messages(
    session: Session,
    _vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    _pg: bool,
) -> None:
    """Handled message ids (with sealed replies) and Telegram message ids."""
    cutoff = now - timedelta(hours=settings.message_retention_hours)
    counts.messages = rowcount(
        session.execute(delete(HandledMessage).where(col(HandledMessage.handled_at) < cutoff))
    )
    counts.telegram_ids = rowcount(
        session.execute(delete(TelegramMessage).where(col(TelegramMessage.sent_at) < cutoff))
    )


def _purge_deliveries(
    session: Session,
    _vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    _pg: bool,
) -> None:
    cutoff = now - timedelta(days=settings.retention_days)
    counts.deliveries = rowcount(
        session.execute(delete(OutboundMessage).where(col(OutboundMessage.created_at) < cutoff))
    )


def _wipe_idle_answers(
    session: Session,
    vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    pg: bool,
) -> None:
    """Unconfirmed answers of idle conversations; the place is kept so the next
    message is told it starts afresh. Unreadable answers are wiped too."""
    idle_since = now - timedelta(minutes=settings.inactivity_timeout_minutes)
    empty = len(vault.seal({}, b""))  # the length is the same for every row
    query = (
        select(Conversation)
        .where(col(Conversation.last_activity) < idle_since)
        .where(func.length(Conversation.slots_enc) != empty)
    )
    if pg:
        query = query.with_for_update(skip_locked=True)
    for conversation in session.execute(query).scalars():
        context = binding.conversation_slots(conversation.person_key)
        _opens(vault, conversation.slots_enc, context, counts)
        conversation.slots_enc = vault.seal({}, context)
        session.add(conversation)
        counts.conversations += 1


def _delete_conversations_without_request(
    session: Session, pg: bool, *conditions: ColumnElement[bool]
) -> int:
    """Delete the conversations matching `conditions` whose person has no open
    request, with their handled message ids; how many went."""
    open_request = (
        select(col(CallbackRequest.id))
        .where(col(CallbackRequest.person_key) == col(Conversation.person_key))
        .where(col(CallbackRequest.status).in_(OPEN_STATUSES))
    )
    query = select(col(Conversation.id)).where(*conditions).where(~exists(open_request))
    if pg:
        query = query.with_for_update(skip_locked=True, of=Conversation)
    ids = list(session.execute(query).scalars())
    deleted = 0
    for chunk in _chunks(ids):
        session.execute(
            delete(HandledMessage).where(col(HandledMessage.conversation_id).in_(chunk))
        )
        deleted += rowcount(
            session.execute(delete(Conversation).where(col(Conversation.id).in_(chunk)))
        )
    return deleted


def _purge_conversations(
    session: Session,
    _vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    pg: bool,
) -> None:
    """Conversations idle for CONVERSATION_RETENTION_DAYS of people with no open request."""
    cutoff = now - timedelta(days=settings.conversation_retention_days)
    counts.conversations_deleted += _delete_conversations_without_request(
        session, pg, col(Conversation.last_activity) < cutoff
    )


def _purge_stubs(
    session: Session,
    _vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    pg: bool,
) -> None:
    """Conversations that never got past the greeting (still at the safety
    question, or reset), idle STUB_CONVERSATION_MINUTES, with no open request:
    a flood of new senders never grows storage without bound. Their handled
    message ids go too; a replayed SMS is still known (bot/storage/replays)."""
    cutoff = now - timedelta(minutes=settings.stub_conversation_minutes)
    counts.stubs += _delete_conversations_without_request(
        session,
        pg,
        col(Conversation.flow) == STUB_FLOW,
        col(Conversation.state).in_(STUB_STATES),
        col(Conversation.last_activity) < cutoff,
    )


def _forget_sender_counts(
    session: Session,
    _vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    _pg: bool,
) -> None:
    window = timedelta(seconds=settings.sender_window_seconds)
    counts.sender_counts = forget_quiet(session, now, window)


def _forget_seen_ids(
    session: Session,
    _vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    _pg: bool,
) -> None:
    counts.seen_ids = forget_old(session, now, settings.message_id_retention_days)


def _forget_code_word_locks(
    session: Session,
    _vault: Vault,
    settings: Settings,
    now: datetime,
    _counts: PurgeCounts,
    _pg: bool,
) -> None:
    forget_stale_locks(session, now, timedelta(minutes=settings.code_word_lock_minutes))


def _purge_chats(
    session: Session,
    vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    _pg: bool,
) -> None:
    """Live chats ended (or silent) more than CHAT_TRANSCRIPT_DAYS ago, with
    their sealed lines and their outbox rows; and live chats nobody may answer
    any more (the person silent past the inactivity timeout) ended first."""
    silent = max(settings.inactivity_timeout_minutes, settings.chat_reply_window_minutes)
    chats.end_stale(session, vault, now, silent)
    counts.chats = chats.purge(session, now, settings.chat_transcript_days)


def _purge_audit(
    session: Session,
    _vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    _pg: bool,
) -> None:
    """A core DELETE on the table, past the ORM's append-only guard, which
    would refuse (and should, everywhere else)."""
    table = table_of(AuditEvent)
    cutoff = now - timedelta(days=settings.audit_retention_days)
    counts.audit = rowcount(session.execute(delete(table).where(table.c.at < cutoff)))


def _release_claims(
    session: Session,
    _vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    _pg: bool,
) -> None:
    counts.claims = release_idle(session, now, settings.claim_release_minutes)


def _forget_sign_ins(
    session: Session,
    _vault: Vault,
    settings: Settings,
    now: datetime,
    counts: PurgeCounts,
    _pg: bool,
) -> None:
    counts.sign_ins = forget_stale(
        session, now, settings.dashboard_idle_minutes, settings.login_lockout_minutes
    )


def finish_replies(engine: Engine | None) -> int:
    """Replies left unsent by a channel's webhook (Telegram's); 0 when none is on."""
    if engine is None:
        return 0
    from bot.channels.registry import channels

    total = 0
    for parts in channels():
        if parts.finish is None:
            continue
        try:
            total += asyncio.run(parts.finish(engine))
        except Exception as fault:  # noqa: BLE001 - one failed round never stops the worker
            log.error("finishing %s replies failed: %s", parts.name, type(fault).__name__)
    return total


def _now() -> datetime:
    return datetime.now(UTC)


def guarded(name: str, job: Callable[[], T], fallback: T) -> T:
    """Run one job; a failure is logged by its type only and never stops the loop."""
    try:
        return job()
    except Exception as fault:  # noqa: BLE001 - the worker carries on with the next job
        log.error("worker job %s failed: %s", name, type(fault).__name__)
        report_current_exception()
        return fallback


@dataclass
class Worker:
    """What the loop needs, so one round can be run (and tested) on its own.

    `hours` are the service's callback hours (None: the shipped content's); an
    empty list holds back every text to a person that asked "as soon as possible".
    """

    db: Database
    vault: Vault
    settings: Settings
    senders: dict[str, Sender]
    replier: Engine | None = None
    hours: list[win.Window] | None = None
    clock: Callable[[], datetime] = _now

    def send_round(self) -> SendCounts:
        """Finish unsent Telegram replies, then send what the outbox has due."""
        finished = guarded("replies", lambda: finish_replies(self.replier), 0)
        if finished:
            log.info("telegram: %d unsent repl(ies) finished", finished)
        sent = guarded(
            "sends",
            lambda: run_sends(
                self.db, self.vault, self.senders, self.clock(), self.hours, clock=self.clock
            ),
            SendCounts(),
        )
        if sent.sent or sent.deferred or sent.refused or sent.failed or sent.void or sent.errors:
            log.info(
                "outbox: %d sent, %d to retry, %d refused, %d failed, %d void (%s), %d broke",
                sent.sent,
                sent.deferred,
                sent.refused,
                sent.failed,
                sent.void,
                ", ".join(f"{code}: {n}" for code, n in sorted(sent.reasons.items())) or "-",
                sent.errors,
            )
        return sent

    def purge_round(self) -> PurgeCounts:
        counts = guarded(
            "purge", lambda: purge(self.db, self.vault, self.settings, self.clock()), PurgeCounts()
        )
        log.info(
            "purged %d request(s), %d cancelled request detail(s), %d outbox row(s), "
            "%d message id(s), %d Telegram message id(s), %d delivery record(s), "
            "%d idle draft(s), %d conversation(s), %d greeting-only conversation(s), "
            "%d sender count(s), %d message id hash(es), %d audit event(s), "
            "%d live chat(s), %d unreadable row(s); %d idle claim(s) released; "
            "failed steps: %s",
            counts.requests,
            counts.cancelled_wiped,
            counts.outbox,
            counts.messages,
            counts.telegram_ids,
            counts.deliveries,
            counts.conversations,
            counts.conversations_deleted,
            counts.stubs,
            counts.sender_counts,
            counts.seen_ids,
            counts.audit,
            counts.chats,
            counts.unreadable,
            counts.claims,
            ", ".join(counts.failed_steps) or "none",
        )
        totals = {kind: rows for kind, rows in vars(counts).items() if isinstance(rows, int)}
        guarded("purge totals", lambda: record_purged(self.db, totals, self.clock()), None)
        return counts


def build_worker(settings: Settings, clock: Callable[[], datetime] = _now) -> Worker:
    db = Database(settings.sqlalchemy_url, settings.db_timeout_seconds)
    # Before anything else: under a changed secret every sealed row would look
    # corrupt, and the purge wipes unreadable rows. A mismatch stops here.
    vault = open_vault(settings, db)
    replier = (
        guarded("telegram", lambda: Engine(settings=settings, database=db), None)
        if settings.telegram_enabled
        else None
    )
    # Without the callback hours no "as soon as possible" request is inside its
    # safe times, so texts to people are held back (void), never sent blind.
    hours: list[win.Window] = guarded("hours", lambda: callback_hours(settings.content_dir), [])
    return Worker(db, vault, settings, build_senders(settings), replier, hours, clock)


def run_worker(once: bool = False, clock: Callable[[], datetime] = _now) -> int:
    """The worker's loop; `clock` is for tests that move time forward."""
    init_error_reporting(get_settings())
    worker = build_worker(get_settings(), clock)
    log.info("worker started; sending on: %s", ", ".join(sorted(worker.senders)) or "no channel")
    while True:
        for _ in range(INTERVAL_SECONDS // SEND_INTERVAL_SECONDS):
            worker.send_round()
            if once:
                break
            time.sleep(SEND_INTERVAL_SECONDS)
        worker.purge_round()
        if once:
            return 0
