"""The audit log: append-only, per request for supervisors, and exported as CSV
with no formula and no personal data. Routes: bot/dashboard/routes/audit.py.

Through the real app on a real, migrated database, once on SQLite and once on
PostgreSQL.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from bot.dashboard import audit
from bot.storage.models import AuditEvent
from tests.dashboard_support import (
    Dash,
    attempt,
    claimed,
    signed_in,
)
from tests.test_dashboard import dashboard_routes


def test_audit_events_cannot_be_changed_or_deleted(dash: Dash) -> None:
    signed_in(dash.app, "alice")
    with dash.engine.db.session() as session:
        event = session.execute(select(AuditEvent)).scalars().first()
        event.action = "logout"
        with pytest.raises(audit.AuditIsAppendOnly):
            session.flush()
        session.rollback()
        event = session.execute(select(AuditEvent)).scalars().first()
        session.delete(event)
        with pytest.raises(audit.AuditIsAppendOnly):
            session.flush()
        session.rollback()
    assert [e.action for e in dash.audit()] == ["login", "queue_view"]
    public = [name for name in dir(audit) if not name.startswith("_")]
    assert not [n for n in public if any(w in n for w in ("update", "delete", "remove", "edit"))]
    for route in dashboard_routes(dash.app).values():
        assert route.methods <= {"GET", "POST"}


def test_audit_per_request_and_csv_export_for_supervisors(dash: Dash) -> None:
    client, csrf, reference = claimed(dash, name="sue")
    client.post(f"/dashboard/requests/{reference}/number", data={"csrf_token": csrf})
    attempt(client, csrf, reference, kind="sent_text", override_reason='=HYPERLINK("x")')
    page = client.get(f"/dashboard/requests/{reference}/audit")
    assert page.status_code == 200
    for words in ("Claimed", "Viewed the number", "Supervisor override", "Recorded an attempt"):
        assert words in page.text
    response = client.get(f"/dashboard/audit.csv?reference={reference}")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["action"] for r in rows] == [
        "claim",
        "request_view",
        "number_view",
        "override",
        "attempt",
    ]
    assert {r["user"] for r in rows} == {"sue"}
    assert rows[3]["override_reason"] == '\'=HYPERLINK("x")', "no formula in a spreadsheet"
    assert rows[3]["detail"] == "text_not_allowed"
    whole = client.get("/dashboard/audit.csv").text
    assert "login" in whole and "audit_export" in whole
    assert "+447700900123" not in whole and "bluebell" not in whole
