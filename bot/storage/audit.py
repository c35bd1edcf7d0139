"""The audit trail's one writer: append an event in the caller's transaction.

Below the dashboard so the engine (a code-word lock-out) and the dashboard both
write it without the engine importing the dashboard. There is no function here
that changes or removes an event, and the ORM refuses to flush an update or
delete of one, so a bug elsewhere cannot quietly rewrite history. Details are
short codes, never personal data; an override's written reason is sealed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event
from sqlmodel import Session

from bot.storage import binding
from bot.storage.crypto import Vault
from bot.storage.models import AuditEvent, StaffUser

ACTIONS = (
    "login",
    "login_failed",
    "login_locked",
    "logout",
    "session_idle",
    "queue_view",
    "request_view",
    "number_view",
    "claim",
    "claim_lost",
    "release",
    "release_idle",
    "attempt",
    "outcome",
    "refused",
    "override",
    "audit_export",
    "code_word_locked",
    "second_factor_failed",
    "recovery_code_used",
    "second_factor_enrolled",
    "second_factor_reset",
    "account_unlocked",
    "password_reset",
    "account_enabled",
    "chats_view",
    "chat_view",
    "chat_claim",
    "chat_claim_lost",
    "chat_reply",
    "chat_refused",
    "chat_end",
    "chat_to_callback",
    "chat_transfer",
    "chat_take_over",
)


class AuditIsAppendOnly(RuntimeError):
    """Raised when anything tries to change or delete an audit event."""


@event.listens_for(AuditEvent, "before_update")
def _no_update(*_args: object) -> None:
    raise AuditIsAppendOnly("audit events cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _no_delete(*_args: object) -> None:
    raise AuditIsAppendOnly("audit events cannot be deleted")


def record(
    session: Session,
    action: str,
    now: datetime,
    user: StaffUser | None = None,
    *,
    user_name: str | None = None,
    reference: str | None = None,
    detail: str | None = None,
    reason: str | None = None,
    vault: Vault | None = None,
) -> None:
    """Append one event to the caller's transaction."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    name = (user.name if user else user_name or "system")[:60]
    context = binding.audit_reason(action, reference, name, now)
    sealed = vault.seal(reason, context) if (reason and vault is not None) else None
    session.add(
        AuditEvent(
            at=now,
            user_id=user.id if user else None,
            user_name=name,
            action=action,
            reference=reference,
            detail=(detail or None) and detail[:80],
            reason_enc=sealed,
        )
    )
