"""Supervisors: who did what to a request, and the whole audit log as CSV.

Audit events hold codes, never a number, a name or a note; an override's
written reason is sealed and opened here for supervisors only. The export is
itself audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from bot.dashboard import audit
from bot.dashboard.deps import Db, Now, Supervisor, Svc
from bot.dashboard.pages import render

router = APIRouter(prefix="/dashboard", include_in_schema=False)

Reference = Annotated[str, Query(max_length=16)]


@router.get("/requests/{reference}/audit", response_class=HTMLResponse)
def request_audit(
    request: Request, reference: str, staff: Supervisor, services: Svc, db: Db
) -> HTMLResponse:
    rows = audit.events(db, reference[:16])
    db.commit()
    reasons = {row.id: audit.reason_of(row, services.vault) for row in rows}
    context = {"staff": staff, "reference": reference[:16], "events": rows, "reasons": reasons}
    return render(request, "audit.html", context)


@router.get("/audit.csv")
def audit_csv(
    staff: Supervisor, services: Svc, db: Db, now: Now, reference: Reference = ""
) -> Response:
    rows = audit.events(db, reference or None)
    audit.record(db, "audit_export", now, staff.user, reference=reference or None)
    db.commit()
    name = f"audit-{reference or 'all'}.csv"
    return Response(
        audit.to_csv(rows, services.vault),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
