"""Which row each sealed value belongs to: the associated data that binds it.

Every sealed column is listed here with what identifies its row for good
(known when the value is sealed and never changed), so a value copied into
another row or table does not open, and `frontdoor keys rotate` can re-seal
every column without knowing what it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import SQLModel

from bot.storage.crypto import bound
from bot.storage.models import (
    AuditEvent,
    CallAttempt,
    CallbackRequest,
    ChatMessage,
    Conversation,
    HandledMessage,
    LiveChat,
    Outbox,
    StaffPending,
    StaffUser,
)


def conversation_slots(person_key: str) -> bytes:
    return bound("conversations.slots_enc", person_key)


def handled_replies(channel: str, provider_id: str) -> bytes:
    return bound("handled_messages.replies_enc", channel, provider_id)


def handled_address(channel: str, provider_id: str) -> bytes:
    return bound("handled_messages.address_enc", channel, provider_id)


def request_details(reference: str) -> bytes:
    return bound("callback_requests.details_enc", reference)


def outbox_payload(dedupe_key: str) -> bytes:
    return bound("outbox.payload_enc", dedupe_key)


def attempt_notes(attempt_id: int) -> bytes:
    return bound("call_attempts.notes_enc", attempt_id)


def staff_totp(user_id: int) -> bytes:
    return bound("staff_users.totp_enc", user_id)


def pending_secret(token_hash: str) -> bytes:
    return bound("staff_pending.secret_enc", token_hash)


def chat_address(chat_id: int) -> bytes:
    return bound("live_chats.address_enc", chat_id)


def chat_message_body(message_id: int) -> bytes:
    return bound("chat_messages.body_enc", message_id)


def audit_reason(action: str, reference: str | None, user_name: str, at: datetime) -> bytes:
    """An audit event is sealed before it has an id (and is never updated), so
    it is bound to what it records and to the seconds and microseconds of its
    time: the part no database time zone setting can shift."""
    moment = at.strftime("%S.%f")
    return bound("audit_events.reason_enc", action, reference or "", user_name, moment)


@dataclass(frozen=True)
class SealedColumn:
    """One sealed column, the columns that identify its row, and how they
    make the associated data of the row's value."""

    model: type[SQLModel]
    column: str
    identity: tuple[str, ...]
    make: Callable[..., bytes]

    @property
    def name(self) -> str:
        return f"{self.model.__tablename__}.{self.column}"

    def context(self, row: Any) -> bytes:
        """For an ORM object, a result row or a mapping of column names."""
        if isinstance(row, Mapping):
            return self.make(*(row[name] for name in self.identity))
        return self.make(*(getattr(row, name) for name in self.identity))


SEALED: tuple[SealedColumn, ...] = (
    SealedColumn(Conversation, "slots_enc", ("person_key",), conversation_slots),
    SealedColumn(HandledMessage, "replies_enc", ("channel", "provider_id"), handled_replies),
    SealedColumn(HandledMessage, "address_enc", ("channel", "provider_id"), handled_address),
    SealedColumn(CallbackRequest, "details_enc", ("reference",), request_details),
    SealedColumn(Outbox, "payload_enc", ("dedupe_key",), outbox_payload),
    SealedColumn(CallAttempt, "notes_enc", ("id",), attempt_notes),
    SealedColumn(StaffUser, "totp_enc", ("id",), staff_totp),
    SealedColumn(StaffPending, "secret_enc", ("token_hash",), pending_secret),
    SealedColumn(LiveChat, "address_enc", ("id",), chat_address),
    SealedColumn(ChatMessage, "body_enc", ("id",), chat_message_body),
    SealedColumn(
        AuditEvent, "reason_enc", ("action", "reference", "user_name", "at"), audit_reason
    ),
)


def context_of(table: str, column: str, row: Any) -> bytes:
    """The associated data of one row's sealed value; KeyError for a column not listed."""
    for sealed in SEALED:
        if sealed.name == f"{table}.{column}":
            return sealed.context(row)
    raise KeyError(f"{table}.{column} is not a sealed column")
