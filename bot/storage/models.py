"""The tables. Plain personal data never sits in a column of its own: phone
numbers and free text live only inside encrypted fields (`*_enc`)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlalchemy import true as sa_true
from sqlmodel import Field, SQLModel


class Conversation(SQLModel, table=True):
    """One person's conversation: where they are and their unconfirmed answers."""

    __tablename__ = "conversations"

    id: int | None = Field(default=None, primary_key=True)
    person_key: str = Field(max_length=64, unique=True, index=True)
    channel: str = Field(max_length=20)
    flow: str = Field(max_length=40)
    state: str = Field(max_length=80)
    slots_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    locale: str = Field(max_length=10, default="en")
    last_activity: datetime
    created_at: datetime


class KeyCheck(SQLModel, table=True):
    """A keyed hash of a fixed label under the service secret: at start-up a
    different secret is noticed before it turns every sealed row unreadable."""

    __tablename__ = "key_checks"

    name: str = Field(primary_key=True, max_length=40)
    check: str = Field(max_length=64)
    created_at: datetime


class LookupKey(SQLModel, table=True):
    """The person-lookup (HMAC) key, sealed under each data key id still in use.

    The lookup key never changes, so person keys survive a key rotation; a row
    per data key id also says which key ids data may still be sealed under,
    and a start-up whose secrets lack one of them is refused (bot/storage/keys.py).
    """

    __tablename__ = "lookup_keys"

    key_id: str = Field(primary_key=True, max_length=8)
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime


class IssuedReference(SQLModel, table=True):
    """Every reference ever given to a person, kept after its request is deleted
    (a reference alone says nothing about anyone), so none is given twice: an
    old reference and code word can never open someone else's request."""

    __tablename__ = "issued_references"

    reference: str = Field(primary_key=True, max_length=16)


class SenderCount(SQLModel, table=True):
    """How many messages one person (keyed hash, never a number) sent in the
    current window, and when they were last told to slow down (bot/storage/floods)."""

    __tablename__ = "sender_counts"

    person_key: str = Field(primary_key=True, max_length=64)
    window_start: datetime = Field(index=True)
    count: int = 0
    noticed_at: datetime | None = None


class SeenMessageId(SQLModel, table=True):
    """A keyed hash of a provider message id already handled (Twilio's MessageSid),
    kept for 30 days with no content, so an old captured request is never run
    again after its answer cache is gone (bot/storage/replays)."""

    __tablename__ = "seen_message_ids"

    key: str = Field(primary_key=True, max_length=64)
    seen_at: datetime = Field(index=True)


class HandledMessage(SQLModel, table=True):
    """A provider message id already answered, and the answer (encrypted) to repeat."""

    __tablename__ = "handled_messages"
    __table_args__ = (UniqueConstraint("channel", "provider_id", name="uq_handled_provider"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    provider_id: str = Field(max_length=128)
    conversation_id: int = Field(index=True)
    replies_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    handled_at: datetime = Field(index=True)
    # For channels that send replies themselves (Telegram): how many replies
    # there are, how many are confirmed sent, the sealed address to finish
    # sending to, and when a sender last took the unsent ones (bot/storage/deliveries).
    reply_count: int = 0
    delivered: int = 0
    address_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    delivery_claimed_at: datetime | None = None


class CallbackRequest(SQLModel, table=True):
    """A confirmed request for a call back.

    Columns a call-handler's queue sorts and filters on are plain and hold no
    personal data; number, name, code word and notes are in `details_enc`.
    """

    __tablename__ = "callback_requests"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=16, unique=True, index=True)
    person_key: str = Field(max_length=64, index=True)
    channel: str = Field(max_length=20)
    route: str = Field(max_length=20)  # me, someone_else, own_behaviour, professional
    area: str | None = Field(default=None, max_length=40)
    team: str | None = Field(default=None, max_length=40)
    language: str = Field(default="en", max_length=40)
    interpreter: bool = False
    handler_gender: str | None = Field(default=None, max_length=10)
    priority: int = 0  # sum of triage weights (see bot/flows/triage.py); higher is more urgent
    # The safety screen's codes for what the person wrote (danger_now, crisis,
    # child, harm_risk, and risk indicators such as strangulation); never words.
    safety_flags: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    asap: bool = True
    safe_windows: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    voicemail_ok: bool | None = None
    text_first_ok: bool | None = None
    withheld_ok: bool | None = None
    if_someone_else: str | None = Field(default=None, max_length=20)
    # Triage questions answered "yes" (codes such as strangled, threats_to_kill);
    # triage, not a DASH score. Never words.
    triage: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    # False while the person is still answering ("details still coming"): the
    # request is saved once consent, a safe number and a safe time are given.
    complete: bool = Field(default=True, sa_column_kwargs={"server_default": sa_true()})
    # open, claimed, closed or cancelled
    status: str = Field(default="open", max_length=20, index=True)
    # Set by the dashboard: who holds the request, since when, and when they last acted on it.
    claimed_by: int | None = Field(default=None, index=True)
    claimed_at: datetime | None = None
    claim_active_at: datetime | None = None
    call_back_at: datetime | None = None  # a later call agreed inside the safe windows
    details_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The PIN offered to a person who chose no code word: a keyed hash, never
    # the digits (bot/storage/request_access.py).
    pin_hash: str | None = Field(default=None, max_length=64)
    # When someone last gave a wrong code word too often for this request.
    gate_locked_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    retain_until: datetime = Field(index=True)


class Outbox(SQLModel, table=True):
    """A message the worker will send later, only of a kind the person agreed to.

    `payload_enc` holds the address and text. `status` goes pending -> sending
    -> sent (or failed / refused / void); a row marked `sending` whose send may
    have reached the provider is never sent again, so a retry cannot send twice.
    `request_id` names the callback request the message is for (None for staff
    notices) and `expires_at` when it stops making sense: a row whose request is
    gone or no longer open, that is outside the person's safe times or past its
    expiry is marked `void` with a reason code in `last_error`, never sent.
    """

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    kind: str = Field(max_length=40)
    dedupe_key: str = Field(max_length=128, unique=True)
    person_key: str | None = Field(default=None, max_length=64, index=True)
    payload_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    request_id: int | None = Field(default=None, index=True)
    status: str = Field(default="pending", max_length=20, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=40)  # a code, never text
    next_attempt_at: datetime
    expires_at: datetime = Field(index=True)
    sent_at: datetime | None = None
    created_at: datetime


class OutboundMessage(SQLModel, table=True):
    """One message sent to a person, with its size and delivery state.

    Replies to an inbound message name it in `in_reply_to`; outbox sends name
    their `outbox_id`. `provider_id` is Twilio's MessageSid or Telegram's
    message id, so status callbacks find the row. No text is kept here.
    """

    __tablename__ = "outbound_messages"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=20)
    person_key: str = Field(max_length=64, index=True)
    in_reply_to: str | None = Field(default=None, max_length=128, index=True)
    outbox_id: int | None = Field(default=None, index=True)
    provider_id: str | None = Field(default=None, max_length=128, index=True)
    segments: int = 0
    encoding: str = Field(default="", max_length=8)  # "GSM-7" or "UCS-2" on SMS
    status: str = Field(default="queued", max_length=20)
    error_code: str | None = Field(default=None, max_length=20)
    created_at: datetime
    updated_at: datetime


class SmsOptOut(SQLModel, table=True):
    """A number that texted STOP, or that the carrier refuses (Twilio error 21610).

    Keyed by the same keyed hash as the person (channel "sms" and the E.164
    number), so a safe number given in a request is checked the same way.
    Nothing is sent to it until it texts START, UNSTOP or YES.
    """

    __tablename__ = "sms_opt_outs"

    address_key: str = Field(primary_key=True, max_length=64)
    source: str = Field(max_length=20)  # "keyword" or "carrier"
    opted_out_at: datetime


class TelegramMessage(SQLModel, table=True):
    """A message id in a person's private chat, kept for 48 hours so EXIT can
    delete it from their phone (the Bot API's own limit for deleting)."""

    __tablename__ = "telegram_messages"
    __table_args__ = (UniqueConstraint("person_key", "message_id", name="uq_telegram_message"),)

    id: int | None = Field(default=None, primary_key=True)
    person_key: str = Field(max_length=64, index=True)
    message_id: int
    sent_at: datetime = Field(index=True)


class StaffUser(SQLModel, table=True):
    """A call-handler or supervisor. Made only by `frontdoor users add`; no self-registration."""

    __tablename__ = "staff_users"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60, unique=True, index=True)
    role: str = Field(max_length=20)  # handler or supervisor
    password_hash: str = Field(max_length=200)  # argon2id
    active: bool = True
    created_at: datetime
    # The TOTP secret, sealed (bot/storage/binding.py); None until enrolled.
    totp_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # The last time step whose code was accepted: a code is never taken twice.
    totp_last_step: int | None = None
    # Set by a supervisor's reset: enrol again at the next sign-in, even in development.
    needs_enrolment: bool = False


class StaffRecoveryCode(SQLModel, table=True):
    """A one-time recovery code, hashed with argon2id; `used_at` set when spent."""

    __tablename__ = "staff_recovery_codes"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(index=True)
    code_hash: str = Field(max_length=200)
    used_at: datetime | None = None


class StaffPending(SQLModel, table=True):
    """A half-finished sign-in: the password was right, the second factor is still
    to come. Bound to a cookie (only its hash kept) and short-lived."""

    __tablename__ = "staff_pending"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(index=True)
    created_at: datetime
    tries: int = 0
    # A new TOTP secret being enrolled, sealed to this row's token hash.
    secret_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class LoginThrottle(SQLModel, table=True):
    """Sign-in attempts per account and address together (account "*" counts an
    address across all accounts). One row each, counted by a single atomic upsert."""

    __tablename__ = "login_throttles"

    account: str = Field(max_length=60, primary_key=True)
    address: str = Field(max_length=64, primary_key=True)
    attempts: int = 0
    window_start: datetime


class StaffSession(SQLModel, table=True):
    """A signed-in browser. Only a hash of the cookie's token is kept, so a copy of
    the database cannot be used to sign in; ending the row ends the session."""

    __tablename__ = "staff_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    user_id: int = Field(index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime
    last_seen: datetime
    ended_at: datetime | None = None


class LoginFailure(SQLModel, table=True):
    """A failed sign-in, counted per account and per address for throttling."""

    __tablename__ = "login_failures"

    id: int | None = Field(default=None, primary_key=True)
    account: str = Field(max_length=60, index=True)
    address: str = Field(max_length=64, index=True)
    at: datetime = Field(index=True)


class CallAttempt(SQLModel, table=True):
    """One try at a call back (or a text, or a voicemail) and what came of it.

    `kind` and `outcome` are codes the templates turn into words; the
    handler's notes are sealed in `notes_enc` like every other free text.
    """

    __tablename__ = "call_attempts"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(index=True)
    user_id: int
    kind: str = Field(max_length=30)
    outcome: str | None = Field(default=None, max_length=40)
    call_back_at: datetime | None = None
    overridden: bool = False
    notes_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime


class AuditEvent(SQLModel, table=True):
    """Who did what, when: append-only (bot/dashboard/audit.py refuses updates and deletes).

    `detail` is a short code, never personal data; an override's written
    reason is sealed in `reason_enc`.
    """

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(index=True)
    user_id: int | None = None
    user_name: str = Field(max_length=60)
    action: str = Field(max_length=30, index=True)
    reference: str | None = Field(default=None, max_length=16, index=True)
    detail: str | None = Field(default=None, max_length=80)
    reason_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class CodeWordLock(SQLModel, table=True):
    """Wrong code words from one sender (HMAC of channel and address, never the
    address): too many within the lock time lock that sender out of every
    request for a while, whether or not a request exists, so a lock tells
    nothing (bot/storage/request_access.py)."""

    __tablename__ = "code_word_locks"
    person_key: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    counted_since: datetime
    locked_until: datetime | None = Field(default=None, index=True)


class PurgeTotal(SQLModel, table=True):
    """How many rows the retention purge has removed, per kind, ever: counts
    only, for `/metrics` (bot/web/metrics.py), since the purge runs in the
    worker and the metrics are scraped from the web app."""

    __tablename__ = "purge_totals"
    kind: str = Field(primary_key=True, max_length=40)
    total: int = 0
    updated_at: datetime


class LiveChat(SQLModel, table=True):
    """A person texting with a worker (or, out of hours, a message left for one).

    No number or name in a plain column: the address is sealed in
    `address_enc` (bound to the chat id); `signals` holds the safety screen's
    codes, never words. status goes waiting -> open (claimed) -> ended.
    """

    __tablename__ = "live_chats"

    id: int | None = Field(default=None, primary_key=True)
    person_key: str = Field(max_length=64, index=True)
    channel: str = Field(max_length=20)
    address_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    locale: str = Field(default="en", max_length=10)
    status: str = Field(default="waiting", max_length=20, index=True)  # waiting, open, ended
    urgency: int = 0  # higher is more urgent: safety signals raise it
    signals: str = Field(default="", max_length=200)  # comma-separated codes
    created_at: datetime = Field(index=True)
    last_person_at: datetime
    last_staff_at: datetime | None = None
    claimed_by: int | None = Field(default=None, index=True)
    claimed_at: datetime | None = None
    later_texts_ok: bool = False
    windows: list[dict] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    outcome: str | None = Field(default=None, max_length=40)
    ended_at: datetime | None = Field(default=None, index=True)
    request_id: int | None = None
    is_message: bool = False


class ChatMessage(SQLModel, table=True):
    """One line of a live chat, its text sealed to the row (bot/storage/chats.py).

    `delivery` is None for the person's own lines; a worker's line goes
    queued -> sent -> delivered (or failed), through the outbox row `outbox_id`.
    """

    __tablename__ = "chat_messages"

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(index=True)
    author: str = Field(max_length=10)  # person, worker or bot
    staff_id: int | None = None
    body_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    signals: str | None = Field(default=None, max_length=200)
    created_at: datetime
    delivery: str | None = Field(default=None, max_length=20)
    outbox_id: int | None = Field(default=None, index=True)


class FigureCount(SQLModel, table=True):
    """One daily count for the figures (bot/storage/figures.py): an event on a
    London day in a commissioning area, whole (`dimension` "") or for one value
    of one dimension (a channel, a route, an hour "h14", a time bucket "m60").
    Codes only, checked against a fixed vocabulary: never a reference, person
    key, number, name or word anyone wrote, so it outlives every purge."""

    __tablename__ = "figure_counts"
    day: date = Field(primary_key=True)
    event: str = Field(primary_key=True, max_length=40)
    area: str = Field(primary_key=True, max_length=20)  # southend, thurrock, essex, elsewhere, ""
    dimension: str = Field(primary_key=True, max_length=20)
    value: str = Field(primary_key=True, max_length=40)
    count: int = 0


class FigureMonthCount(SQLModel, table=True):
    """The same counts as `figure_counts`, added up per London month (`month` is
    its first day), written alongside them so a year's figures read a few
    thousand rows, not a year of days."""

    __tablename__ = "figure_month_counts"
    month: date = Field(primary_key=True)
    event: str = Field(primary_key=True, max_length=40)
    area: str = Field(primary_key=True, max_length=20)
    dimension: str = Field(primary_key=True, max_length=20)
    value: str = Field(primary_key=True, max_length=40)
    count: int = 0
