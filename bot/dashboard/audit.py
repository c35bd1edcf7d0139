"""The audit trail as supervisors read it: events, their sealed reasons, CSV.

Writing an event (`record`, append-only, the action names) lives in
bot/storage/audit.py, so the engine can audit a code-word lock-out without
importing the dashboard; it is re-exported here for the dashboard's modules.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlmodel import Session, col

from bot.storage import binding
from bot.storage.audit import ACTIONS, AuditIsAppendOnly, record
from bot.storage.crypto import Vault
from bot.storage.models import AuditEvent

__all__ = ["ACTIONS", "AuditIsAppendOnly", "events", "reason_of", "record", "to_csv"]


def events(session: Session, reference: str | None = None, limit: int = 5000) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(col(AuditEvent.at), col(AuditEvent.id)).limit(limit)
    if reference is not None:
        query = query.where(col(AuditEvent.reference) == reference)
    return list(session.execute(query).scalars())


def reason_of(event_: AuditEvent, vault: Vault) -> str:
    if not event_.reason_enc:
        return ""
    context = binding.audit_reason(event_.action, event_.reference, event_.user_name, event_.at)
    return vault.open(event_.reason_enc, context)


def to_csv(rows: list[AuditEvent], vault: Vault) -> str:
    """CSV for supervisors; times in UTC ISO 8601 so spreadsheets sort them."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["time_utc", "user", "action", "reference", "detail", "override_reason"])
    for row in rows:
        writer.writerow(
            [
                row.at.isoformat(),
                _safe_cell(row.user_name),
                row.action,
                row.reference or "",
                row.detail or "",
                _safe_cell(reason_of(row, vault)),
            ]
        )
    return out.getvalue()


def _safe_cell(value: str) -> str:
    """Stop a spreadsheet reading a cell as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
