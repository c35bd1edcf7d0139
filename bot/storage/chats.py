"""Live chats between a person and a worker: the one store both sides use.

The person's side (the engine, through `Dialogue.chats`) starts a chat, adds
the person's lines and ends it on EXIT; the worker's side (the dashboard)
lists, claims, transfers, replies and ends. Every function takes the
caller's open session and commits nothing, so a line and what it changes
land in one transaction.

Privacy: the person's address is sealed in `live_chats.address_enc` and every
line's text in `chat_messages.body_enc`, each bound to its own row
(bot/storage/binding.py). Plain columns hold codes only (status, signals,
urgency), so the queue can sort without opening anything.

Claiming is one conditional UPDATE (as for callback requests in
bot/dashboard/claims.py): whoever's update changes the row has the chat. On
PostgreSQL the staff member's row is locked first, so two claims by one
worker at once cannot both slip under the open-chat limit.

A worker's line is delivered through the outbox (bot/outbox.py): the row is
queued here, in the same transaction as the line, so a line is never stored
without its delivery, and the outbox's never-twice rule applies. The
outbox's sender updates `delivery` on the line (`mark_delivery`).

Lines written by the bot (author "bot") hold an event code, not words (for
example "menu": the person went back to the bot's menu); the dashboard turns
the code into words for staff.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from bot.storage import binding, figures
from bot.storage.crypto import Vault
from bot.storage.db import id_of, rowcount, utc
from bot.storage.models import ChatMessage, LiveChat, Outbox, StaffUser

WAITING, OPEN, ENDED = "waiting", "open", "ended"
LIVE = (WAITING, OPEN)
# "notified": the person's WhatsApp window had closed, so the neutral notice
# template went instead and the line waits for their reply (`release_notified`).
DELIVERY_STATES = ("queued", "sent", "delivered", "failed", "notified")
OUTBOX_KIND = "chat_message"
# Outcomes of a chat the person left (EXIT, MENU): nothing more is sent to it.
PERSON_LEFT = ("person_exit", "person_menu")
# How long a queued worker line may wait for the provider before it is void:
# a reply an hour late in a live conversation is worse than none (staff see "failed").
DELIVERY_EXPIRY = timedelta(hours=1)
# How much each safety signal raises a chat's urgency (the screen's codes).
SIGNAL_URGENCY = {"danger_now": 100, "crisis": 50, "child": 40, "harm_risk": 40}
OTHER_SIGNAL_URGENCY = 5  # a risk indicator code such as "strangulation"
# Bot event codes a chat may hold as author "bot" lines.
BOT_EVENTS = ("menu", "exit", "timeout", "signal")
LONDON = ZoneInfo("Europe/London")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class ChatLine:
    """One opened line of a chat, for a page or a test."""

    id: int
    author: str
    text: str
    signals: tuple[str, ...]
    created_at: datetime
    delivery: str | None
    reason: str | None = None  # why a failed line did not go (the outbox's code)


def _codes(value: str | None) -> list[str]:
    return [code for code in (value or "").split(",") if code]


def signal_codes(chat: LiveChat) -> list[str]:
    """The chat's safety codes, in the order they first arrived."""
    return _codes(chat.signals)


def urgency_of(codes: Iterable[str]) -> int:
    return sum(SIGNAL_URGENCY.get(code, OTHER_SIGNAL_URGENCY) for code in set(codes))


def _merge(existing: str | None, new: Iterable[str]) -> str:
    merged = _codes(existing)
    for code in new:
        if code and code not in merged:
            merged.append(code)
    return ",".join(merged)[:200]


# -- the person's side -------------------------------------------------------


def start_chat(
    session: Session,
    vault: Vault,
    *,
    person_key: str,
    channel: str,
    address: str,
    locale: str,
    now: datetime,
    signals: Sequence[str] = (),
    is_message: bool = False,
    later_texts_ok: bool = False,
    windows: list[dict] | None = None,
) -> LiveChat:
    """A new waiting chat (or an out-of-hours message when `is_message`)."""
    codes = _merge("", signals)
    chat = LiveChat(
        person_key=person_key,
        channel=channel,
        address_enc=b"",
        locale=locale,
        status=WAITING,
        urgency=urgency_of(_codes(codes)),
        signals=codes,
        created_at=now,
        last_person_at=now,
        later_texts_ok=later_texts_ok,
        windows=windows,
        is_message=is_message,
    )
    session.add(chat)
    session.flush()
    chat.address_enc = vault.seal(address, binding.chat_address(id_of(chat)))
    session.add(chat)
    session.flush()
    if not is_message:  # answered and first-reply times are counted by the dashboard
        figures.count(session, "chat_waited", now, channel=channel)
    return chat


def active_for(session: Session, person_key: str) -> LiveChat | None:
    """The person's live chat (waiting or open; not an out-of-hours message), if any."""
    return session.execute(
        select(LiveChat)
        .where(col(LiveChat.person_key) == person_key)
        .where(col(LiveChat.status).in_(LIVE))
        .where(col(LiveChat.is_message).is_(False))
        .order_by(col(LiveChat.created_at).desc())
        .limit(1)
    ).scalar_one_or_none()


# Built once: the engine asks it for every message, and building a statement
# costs more than running it (about 0.3 ms against 0.05 ms on SQLite).
_LEFT_MESSAGE = (
    select(col(LiveChat.id), col(LiveChat.status), col(LiveChat.last_staff_at))
    .where(col(LiveChat.person_key) == bindparam("person_key"))
    .where(col(LiveChat.status).in_(LIVE))
    .where(col(LiveChat.is_message).is_(True))
    .order_by(col(LiveChat.created_at).desc(), col(LiveChat.id).desc())
    .limit(1)
)


def left_for(session: Session, person_key: str) -> tuple[int, str] | None:
    """The person's newest message left out of hours that has not ended, if any,
    as its id and "waiting" (until a worker has answered it) or "open": what they
    write later joins it, and a worker's answer to it is replied to. Columns
    only, on the session's connection: the engine asks this for every message."""
    row = session.connection().execute(_LEFT_MESSAGE, {"person_key": person_key}).first()
    if row is None:
        return None
    chat_id, status, last_staff_at = row
    assert chat_id is not None  # a stored row always has its id
    answered = status == OPEN and last_staff_at is not None
    return chat_id, OPEN if answered else WAITING


def queue_ahead(session: Session, chat: LiveChat) -> int:
    """How many waiting chats a worker will see before this one."""
    return int(
        session.execute(
            select(func.count())
            .select_from(LiveChat)
            .where(col(LiveChat.status) == WAITING)
            .where(col(LiveChat.is_message).is_(False))
            .where(col(LiveChat.id) != chat.id)
            .where(
                or_(
                    col(LiveChat.urgency) > chat.urgency,
                    and_(
                        col(LiveChat.urgency) == chat.urgency,
                        col(LiveChat.created_at) < chat.created_at,
                    ),
                )
            )
        ).scalar_one()
    )


def recent_wait_minutes(session: Session, now: datetime, hours: int = 3) -> int | None:
    """The typical wait before a worker picked a chat up, over the last `hours`
    (the median, rounded up to whole minutes); None when nobody was picked up."""
    since = now - timedelta(hours=hours)
    rows = session.execute(
        select(col(LiveChat.created_at), col(LiveChat.claimed_at))
        .where(col(LiveChat.claimed_at).is_not(None))
        .where(col(LiveChat.claimed_at) >= since)
        .where(col(LiveChat.is_message).is_(False))
    ).all()
    waits = sorted(
        (utc(claimed) - utc(created)).total_seconds() for created, claimed in rows if claimed
    )
    if not waits:
        return None
    median = waits[len(waits) // 2]
    return max(1, int(-(-median // 60)))


def add_person_message(
    session: Session,
    vault: Vault,
    chat: LiveChat,
    text: str,
    signals: Sequence[str],
    now: datetime,
) -> ChatMessage:
    """The person's line; its signals are added to the chat and raise its urgency."""
    line = _add_line(session, vault, chat, "person", text, now, signals=signals)
    chat.last_person_at = now
    if signals:
        chat.signals = _merge(chat.signals, signals)
        chat.urgency = urgency_of(_codes(chat.signals))
    session.add(chat)
    session.flush()
    return line


def add_bot_line(
    session: Session, vault: Vault, chat: LiveChat, event: str, now: datetime
) -> ChatMessage:
    """A line for the worker saying what the bot did (`event` from BOT_EVENTS)."""
    if event not in BOT_EVENTS:
        raise ValueError(f"unknown chat event {event!r}")
    return _add_line(session, vault, chat, "bot", event, now)


def _add_line(
    session: Session,
    vault: Vault,
    chat: LiveChat,
    author: str,
    text: str,
    now: datetime,
    *,
    signals: Sequence[str] = (),
    staff_id: int | None = None,
    delivery: str | None = None,
) -> ChatMessage:
    line = ChatMessage(
        chat_id=id_of(chat),
        author=author,
        staff_id=staff_id,
        body_enc=b"",
        signals=_merge("", signals) or None,
        created_at=now,
        delivery=delivery,
    )
    session.add(line)
    session.flush()
    line.body_enc = vault.seal(text, binding.chat_message_body(id_of(line)))
    session.add(line)
    session.flush()
    return line


def messages(session: Session, vault: Vault, chat_id: int, after_id: int = 0) -> list[ChatLine]:
    """The chat's lines after `after_id`, oldest first, opened from the seal."""
    rows = session.execute(
        select(ChatMessage, col(Outbox.last_error))
        .outerjoin(Outbox, col(Outbox.id) == col(ChatMessage.outbox_id))
        .where(col(ChatMessage.chat_id) == chat_id)
        .where(col(ChatMessage.id) > after_id)
        .order_by(col(ChatMessage.id))
    ).all()
    return [
        ChatLine(
            id=id_of(row),
            author=row.author,
            text=str(vault.open(row.body_enc, binding.chat_message_body(id_of(row)))),
            signals=tuple(_codes(row.signals)),
            created_at=row.created_at,
            delivery=row.delivery,
            reason=reason if row.delivery == "failed" else None,
        )
        for row, reason in rows
    ]


def get_chat(session: Session, chat_id: int) -> LiveChat | None:
    return session.get(LiveChat, chat_id)


def person_address(vault: Vault, chat: LiveChat) -> str:
    """Where to send (never logged, never shown to staff)."""
    return str(vault.open(chat.address_enc, binding.chat_address(id_of(chat))))


# -- the worker's side -------------------------------------------------------


def waiting_and_open(session: Session, now: datetime) -> list[LiveChat]:
    """Every chat not ended: waiting ones first (most urgent, then longest
    waiting), then open ones (oldest first). `now` is for callers' ages."""
    del now  # ordering needs no clock; kept so every caller passes one time
    waiting_first = case((col(LiveChat.status) == WAITING, 0), else_=1)
    return list(
        session.execute(
            select(LiveChat)
            .where(col(LiveChat.status).in_(LIVE))
            .order_by(
                waiting_first,
                case((col(LiveChat.status) == WAITING, -col(LiveChat.urgency)), else_=0),
                col(LiveChat.created_at),
                col(LiveChat.id),
            )
        ).scalars()
    )


def open_count(session: Session, staff_id: int) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(LiveChat)
            .where(col(LiveChat.claimed_by) == staff_id)
            .where(col(LiveChat.status) == OPEN)
        ).scalar_one()
    )


def _lock_staff(session: Session, staff_id: int) -> None:
    """Serialise one worker's claims on PostgreSQL (SQLite's BEGIN IMMEDIATE
    already runs one writer at a time)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(col(StaffUser.id)).where(col(StaffUser.id) == staff_id).with_for_update()
        )


def claim_chat(session: Session, chat_id: int, staff_id: int, now: datetime, limit: int) -> bool:
    """Atomically take a waiting chat; True only for the one worker who got it,
    and never when they already hold `limit` open chats."""
    _lock_staff(session, staff_id)
    if open_count(session, staff_id) >= limit:
        return False
    result = session.execute(
        update(LiveChat)
        .where(
            col(LiveChat.id) == chat_id,
            col(LiveChat.status) == WAITING,
            col(LiveChat.claimed_by).is_(None),
        )
        .values(status=OPEN, claimed_by=staff_id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    _refresh(session, chat_id)
    return rowcount(result) == 1


def transfer_chat(
    session: Session,
    chat_id: int,
    from_staff_id: int,
    to_staff_id: int,
    now: datetime,
    limit: int,
) -> bool:
    """Hand an open chat to another worker, if they have room for it."""
    if from_staff_id == to_staff_id:
        return False
    _lock_staff(session, to_staff_id)
    if open_count(session, to_staff_id) >= limit:
        return False
    result = session.execute(
        update(LiveChat)
        .where(
            col(LiveChat.id) == chat_id,
            col(LiveChat.status) == OPEN,
            col(LiveChat.claimed_by) == from_staff_id,
        )
        .values(claimed_by=to_staff_id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    _refresh(session, chat_id)
    return rowcount(result) == 1


def take_over(session: Session, chat_id: int, supervisor_id: int, now: datetime) -> bool:
    """A supervisor takes a live chat (waiting or open), whoever held it."""
    result = session.execute(
        update(LiveChat)
        .where(col(LiveChat.id) == chat_id, col(LiveChat.status).in_(LIVE))
        .values(status=OPEN, claimed_by=supervisor_id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    _refresh(session, chat_id)
    return rowcount(result) == 1


def _refresh(session: Session, chat_id: int) -> None:
    found = session.get(LiveChat, chat_id)
    if found is not None:
        session.refresh(found)


def _inside(windows: list[dict] | None, now: datetime) -> bool:
    """Whether `now` (London time) falls inside one of the person's safe windows
    ({day, start, end}, as the safe-times questions store them)."""
    local = utc(now).astimezone(LONDON)
    day = DAYS[local.weekday()]
    for window in windows or []:
        if window.get("day") != day:
            continue
        try:
            start = time.fromisoformat(window["start"])
            end = time.fromisoformat(window["end"])
        except (KeyError, ValueError):
            continue
        if start <= local.time().replace(tzinfo=None) < end:
            return True
    return False


def can_reply(chat: LiveChat, staff_id: int, now: datetime, window_minutes: int) -> str | None:
    """None when `staff_id` may send a line now; else why not ("not_yours",
    "ended", "too_late"). The server's rule, whatever the page shows."""
    if chat.status == ENDED:
        return "ended"
    if chat.status != OPEN or chat.claimed_by != staff_id:
        return "not_yours"
    if utc(now) - utc(chat.last_person_at) <= timedelta(minutes=window_minutes):
        return None
    if chat.later_texts_ok and _inside(chat.windows, now):
        return None
    return "too_late"


def add_worker_message(
    session: Session, vault: Vault, chat: LiveChat, staff_id: int, text: str, now: datetime
) -> ChatMessage:
    """Store a worker's line and queue its delivery in the same transaction.

    The caller checks `can_reply` first; this refuses an ended chat anyway,
    since nothing may ever be sent to someone who left."""
    if chat.status == ENDED:
        raise ValueError("the chat has ended")
    line = _add_line(
        session, vault, chat, "worker", text, now, staff_id=staff_id, delivery="queued"
    )
    _queue_line(session, vault, chat, line, text, f"chat:{id_of(line)}", now)
    chat.last_staff_at = now
    session.add(chat)
    session.flush()
    return line


def _queue_line(
    session: Session,
    vault: Vault,
    chat: LiveChat,
    line: ChatMessage,
    text: str,
    dedupe_key: str,
    now: datetime,
) -> None:
    """The outbox row that delivers `line` (its delivery goes back to "queued")."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    outbox_id = session.execute(
        insert(Outbox)
        .values(
            channel=chat.channel,
            kind=OUTBOX_KIND,
            dedupe_key=dedupe_key,
            person_key=chat.person_key,
            payload_enc=vault.seal(
                {"address": person_address(vault, chat), "text": text},
                binding.outbox_payload(dedupe_key),
            ),
            request_id=None,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            expires_at=now + DELIVERY_EXPIRY,
            created_at=now,
        )
        .returning(col(Outbox.id))
    ).scalar_one()
    line.outbox_id = outbox_id
    line.delivery = "queued"
    session.add(line)
    session.flush()


def _notified(session: Session, person_key: str) -> list[tuple[ChatMessage, LiveChat]]:
    rows = session.execute(
        select(ChatMessage, LiveChat)
        .join(LiveChat, col(LiveChat.id) == col(ChatMessage.chat_id))
        .where(col(LiveChat.person_key) == person_key)
        .where(col(ChatMessage.delivery) == "notified")
        .order_by(col(ChatMessage.id))
    ).all()
    return [(line, chat) for line, chat in rows]


def drop_notified(session: Session, vault: Vault, person_key: str, now: datetime) -> int:
    """The person sent EXIT: lines waiting for their reply never go (they show
    "failed", after a line saying the person sent EXIT). Returns how many."""
    dropped = 0
    told: set[int] = set()
    for line, chat in _notified(session, person_key):
        line.delivery = "failed"
        session.add(line)
        if id_of(chat) not in told:
            told.add(id_of(chat))
            add_bot_line(session, vault, chat, "exit", now)
        dropped += 1
    session.flush()
    return dropped


def release_notified(session: Session, vault: Vault, person_key: str, now: datetime) -> int:
    """The person wrote again (WhatsApp: their window is open): queue every
    worker line that waits as "notified" for them, free-form this time, unless
    they left the chat (EXIT, MENU). Returns how many lines were queued."""
    released = 0
    for line, chat in _notified(session, person_key):
        if chat.outcome in PERSON_LEFT:
            continue
        text = str(vault.open(line.body_enc, binding.chat_message_body(id_of(line))))
        _queue_line(session, vault, chat, line, text, f"chat:{id_of(line)}:released", now)
        released += 1
    return released


def mark_delivery(session: Session, outbox_id: int, status: str) -> int:
    """Record how a worker's line went (by its outbox row); a line already
    "delivered" never goes back to "sent". Returns how many lines changed."""
    if status not in DELIVERY_STATES:
        raise ValueError(f"unknown delivery state {status!r}")
    query = update(ChatMessage).where(col(ChatMessage.outbox_id) == outbox_id)
    if status == "sent":
        query = query.where(col(ChatMessage.delivery).in_(("queued", "failed")))
    elif status == "delivered":  # the notice's report says nothing of the words
        query = query.where(col(ChatMessage.delivery) != "notified")
    return rowcount(
        session.execute(query.values(delivery=status).execution_options(synchronize_session=False))
    )


def chat_of_outbox(session: Session, outbox_id: int) -> LiveChat | None:
    """The chat a queued worker line belongs to (the outbox's last check)."""
    return session.execute(
        select(LiveChat)
        .join(ChatMessage, col(ChatMessage.chat_id) == col(LiveChat.id))
        .where(col(ChatMessage.outbox_id) == outbox_id)
    ).scalar_one_or_none()


def end_chat(
    session: Session,
    chat: LiveChat,
    outcome: str | None,
    now: datetime,
    *,
    drop_unsent: bool = False,
) -> None:
    """End a chat. `drop_unsent` (the person left: EXIT) deletes worker lines
    not yet handed to the provider, so nothing reaches someone who left."""
    if drop_unsent:
        pending = select(col(ChatMessage.outbox_id)).where(
            col(ChatMessage.chat_id) == chat.id, col(ChatMessage.outbox_id).is_not(None)
        )
        session.execute(
            delete(Outbox)
            .where(col(Outbox.id).in_(pending))
            .where(col(Outbox.status) == "pending")
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(ChatMessage)
            .where(
                col(ChatMessage.chat_id) == chat.id,
                col(ChatMessage.delivery).in_(("queued", "notified")),
            )
            .values(delivery="failed")
            .execution_options(synchronize_session=False)
        )
    chat.status = ENDED
    chat.outcome = outcome
    chat.ended_at = now
    session.add(chat)
    session.flush()


def link_request(session: Session, chat: LiveChat, request_id: int) -> None:
    """The chat was turned into a callback request."""
    chat.request_id = request_id
    session.add(chat)
    session.flush()


def end_stale(session: Session, vault: Vault, now: datetime, minutes: int) -> int:
    """End live chats (not messages left out of hours) whose person has been
    silent for `minutes` and nobody wrote since: no worker may reply to them
    any more (`can_reply`), so they leave the queue, with a line saying why."""
    cutoff = now - timedelta(minutes=minutes)
    stale = session.execute(
        select(LiveChat).where(
            col(LiveChat.status).in_(LIVE),
            col(LiveChat.is_message).is_(False),
            col(LiveChat.last_person_at) < cutoff,
            or_(col(LiveChat.last_staff_at).is_(None), col(LiveChat.last_staff_at) < cutoff),
        )
    ).scalars()
    ended = 0
    for chat in list(stale):
        add_bot_line(session, vault, chat, "timeout", now)
        end_chat(session, chat, "timeout", now)
        ended += 1
    return ended


def purge(session: Session, now: datetime, days: int) -> int:
    """Delete chats (and their lines) ended, or silent, more than `days` ago;
    how many chats went. Run by the worker's purge with everything else."""
    cutoff = now - timedelta(days=days)
    silent = and_(
        col(LiveChat.ended_at).is_(None),
        col(LiveChat.last_person_at) < cutoff,
        or_(col(LiveChat.last_staff_at).is_(None), col(LiveChat.last_staff_at) < cutoff),
    )
    old = [
        chat_id
        for (chat_id,) in session.execute(
            select(col(LiveChat.id)).where(or_(col(LiveChat.ended_at) < cutoff, silent))
        )
    ]
    if not old:
        return 0
    queued = select(col(ChatMessage.outbox_id)).where(
        col(ChatMessage.chat_id).in_(old), col(ChatMessage.outbox_id).is_not(None)
    )
    session.execute(
        delete(Outbox)
        .where(col(Outbox.id).in_(queued))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(ChatMessage)
        .where(col(ChatMessage.chat_id).in_(old))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(LiveChat)
        .where(col(LiveChat.id).in_(old))
        .execution_options(synchronize_session=False)
    )
    return len(old)


class PersonChats:
    """One person's live chats, inside the transaction handling their message:
    what flows see as `dialogue.chats` (bot/dialogue.py, `ChatPort`)."""

    def __init__(
        self,
        session: Session,
        vault: Vault,
        person_key: str,
        channel: str,
        address: str,
        now: datetime,
    ) -> None:
        self.session = session
        self.vault = vault
        self.person_key = person_key
        self.channel = channel
        self.address = address
        self.now = now
        self._chat: LiveChat | None = None
        self._looked = False
        self._message: tuple[int, str] | None = None  # the left message: id, state
        self._looked_message = False

    def _live(self) -> LiveChat | None:
        if not self._looked:
            self._looked = True
            self._chat = active_for(self.session, self.person_key)
        return self._chat

    def live(self) -> str | None:
        chat = self._live()
        return chat.status if chat is not None else None

    def queue(self) -> dict[str, int | None]:
        """How many wait before a new (or this person's) chat, and the recent wait."""
        chat = self._live()
        if chat is not None and chat.status == WAITING:
            ahead = queue_ahead(self.session, chat)
        else:
            ahead = int(
                self.session.execute(
                    select(func.count())
                    .select_from(LiveChat)
                    .where(col(LiveChat.status) == WAITING)
                    .where(col(LiveChat.is_message).is_(False))
                ).scalar_one()
            )
        return {"ahead": ahead, "minutes": recent_wait_minutes(self.session, self.now)}

    def start(self, locale: str, signals: list[str]) -> None:
        """A waiting chat, unless the person already has a live one."""
        if self._live() is not None:
            return
        self._chat = start_chat(
            self.session,
            self.vault,
            person_key=self.person_key,
            channel=self.channel,
            address=self.address,
            locale=locale,
            now=self.now,
            signals=signals,
        )

    def write(self, text: str, signals: list[str]) -> None:
        chat = self._live()
        if chat is not None:
            add_person_message(self.session, self.vault, chat, text, signals, self.now)

    def note(self, event: str) -> None:
        chat = self._live()
        if chat is not None:
            add_bot_line(self.session, self.vault, chat, event, self.now)

    def end(self, outcome: str, drop_unsent: bool = False) -> None:
        """The person left (EXIT or MENU): the worker sees why, as a bot line."""
        chat = self._live()
        if chat is None:
            return
        self._leave(chat, outcome, drop_unsent)
        self._chat = None

    def _leave(self, chat: LiveChat, outcome: str, drop_unsent: bool) -> None:
        add_bot_line(self.session, self.vault, chat, outcome, self.now)
        end_chat(self.session, chat, f"person_{outcome}", self.now, drop_unsent=drop_unsent)

    def _left(self) -> LiveChat | None:
        found = self._found_left()
        return self.session.get(LiveChat, found[0]) if found is not None else None

    def _found_left(self) -> tuple[int, str] | None:
        if not self._looked_message:
            self._looked_message = True
            self._message = left_for(self.session, self.person_key)
        return self._message

    def left(self) -> str | None:
        """The person's message left out of hours: "waiting" until a worker has
        answered it (claimed or not), then "open"; None when none is pending."""
        found = self._found_left()
        return found[1] if found is not None else None

    def add_to_left(self, text: str, signals: list[str]) -> None:
        """A later text joins the left message, in order; its signals raise its urgency."""
        chat = self._left()
        if chat is not None:
            add_person_message(self.session, self.vault, chat, text, signals, self.now)

    def end_left(self, outcome: str, drop_unsent: bool = False) -> None:
        """The person left the message (EXIT; or MENU once a worker answered):
        the worker sees why, and with `drop_unsent` nothing more reaches them."""
        chat = self._left()
        if chat is None:
            return
        self._leave(chat, outcome, drop_unsent)
        self._message = None

    def leave_message(
        self, text: str, windows: list[dict[str, str]], locale: str, signals: list[str]
    ) -> None:
        """Out of hours: a message for a worker to answer within the safe windows."""
        chat = start_chat(
            self.session,
            self.vault,
            person_key=self.person_key,
            channel=self.channel,
            address=self.address,
            locale=locale,
            now=self.now,
            signals=signals,
            is_message=True,
            later_texts_ok=True,
            windows=list(windows),
        )
        add_person_message(self.session, self.vault, chat, text, signals, self.now)
        self._message, self._looked_message = (id_of(chat), WAITING), True
