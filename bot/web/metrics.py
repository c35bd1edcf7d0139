"""`/metrics` for the platform (Prometheus text), behind METRICS_TOKEN.

Counts only: labels are fixed small sets (channel names, outcomes, purge
kinds), never a person key, a reference, a number or any text. Queue and
outbox gauges are read from the database at scrape time by a collector, so
every web process reports the same truth; messages handled are counted in
this process; purge totals are kept in the database by the worker.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, insert, select, update
from sqlmodel import col

from bot.dashboard.queue import PRACTICE_CHANNEL
from bot.storage.db import Database, table_of
from bot.storage.models import CallbackRequest, OutboundMessage, Outbox, PurgeTotal

log = logging.getLogger(__name__)

CHANNELS = ("sms", "telegram", "whatsapp", "simulator", "terminal")
OUTCOMES = ("answered", "failed", "outage", "replayed")
WAITING = ("open",)  # a request nobody holds yet
FAILED_DELIVERY = ("failed", "undelivered")

# In-process counters, one registry shared by the whole process.
REGISTRY = CollectorRegistry(auto_describe=True)
MESSAGES = Counter(
    "frontdoor_messages_handled",
    "Inbound messages handled, by channel and outcome",
    ["channel", "outcome"],
    registry=REGISTRY,
)


def count_message(channel: str, outcome: str) -> None:
    """Count one handled message; unknown names fold into "other" (bounded labels)."""
    MESSAGES.labels(
        channel=channel if channel in CHANNELS else "other",
        outcome=outcome if outcome in OUTCOMES else "other",
    ).inc()


def record_purged(db: Database, counts: dict[str, int], now: datetime) -> None:
    """Add one purge round's counts to the running totals the web app reports
    (the purge runs in the worker). Kinds are PurgeCounts' field names."""
    table = table_of(PurgeTotal)
    with db.engine.begin() as connection:
        for kind, rows in counts.items():
            if rows <= 0:
                continue
            done = connection.execute(
                update(table)
                .where(table.c.kind == kind)
                .values(total=table.c.total + rows, updated_at=now)
            )
            if done.rowcount == 0:
                connection.execute(insert(table).values(kind=kind, total=rows, updated_at=now))


class DatabaseCollector(Collector):
    """Queue and outbox gauges read at scrape time; a database error yields none."""

    def __init__(self, db: Database, urgent_priority: int) -> None:
        self.db, self.urgent_priority = db, urgent_priority

    def collect(self) -> Iterator[Metric]:
        try:
            figures = self._read()
        except Exception as error:  # noqa: BLE001 - a scrape never breaks the app
            log.warning("metrics: database unavailable (%s)", type(error).__name__)
            return
        for name, help_text, value in figures[:-1]:
            yield GaugeMetricFamily(name, help_text, value=value)
        purged = CounterMetricFamily(
            "frontdoor_purged", "Rows removed by the retention purge, by kind", labels=["kind"]
        )
        for kind, total in figures[-1][2]:
            purged.add_metric([kind], total)
        yield purged

    def _read(self) -> list[tuple[str, str, Any]]:
        request, box, sent = CallbackRequest, Outbox, OutboundMessage
        waiting = (
            col(request.status).in_(WAITING),
            col(request.complete).is_(True),
            col(request.channel) != PRACTICE_CHANNEL,  # simulator requests are practice
        )
        with self.db.engine.connect() as connection:
            urgent = connection.execute(
                select(func.count()).where(*waiting, col(request.priority) >= self.urgent_priority)
            ).scalar_one()
            all_waiting = connection.execute(select(func.count()).where(*waiting)).scalar_one()
            oldest = connection.execute(select(func.min(request.created_at)).where(*waiting))
            oldest_at = oldest.scalar_one()
            pending = connection.execute(
                select(func.count()).where(col(box.status) == "pending")
            ).scalar_one()
            failed = connection.execute(
                select(func.count()).where(col(box.status) == "failed")
            ).scalar_one()
            replies_failed = connection.execute(
                select(func.count()).where(col(sent.status).in_(FAILED_DELIVERY))
            ).scalar_one()
            purged = connection.execute(select(col(PurgeTotal.kind), col(PurgeTotal.total))).all()
        wait = 0.0
        if oldest_at is not None:
            oldest_at = oldest_at if oldest_at.tzinfo else oldest_at.replace(tzinfo=UTC)
            wait = max(0.0, (datetime.now(UTC) - oldest_at).total_seconds())
        return [
            ("frontdoor_requests_waiting", "Callback requests waiting to be claimed", all_waiting),
            ("frontdoor_urgent_requests_waiting", "Urgent requests waiting", urgent),
            ("frontdoor_oldest_wait_seconds", "Age of the oldest waiting request", wait),
            ("frontdoor_outbox_pending", "Proactive messages waiting to be sent", pending),
            ("frontdoor_outbox_failed", "Proactive messages that failed (kept briefly)", failed),
            (
                "frontdoor_replies_failed",
                "Messages a provider reported failed or undelivered (kept briefly)",
                replies_failed,
            ),
            ("frontdoor_purged", "", [(str(kind), float(total)) for kind, total in purged]),
        ]


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """404 without METRICS_TOKEN; 401 unless the bearer token matches."""
    engine = request.app.state.engine
    token = engine.settings.metrics_token if engine is not None else ""
    if not token:
        raise HTTPException(status_code=404)
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(engine.db, engine.settings.urgent_priority))
    body = generate_latest(REGISTRY) + generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
