"""`/metrics`: hidden without a token, refused with a wrong one, and made of
counts only: no person key, reference, number, name or word in the output."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.engine import Engine
from bot.storage.models import CallbackRequest, Conversation, OutboundMessage, Outbox
from bot.web.app import create_app
from tests.conftest import Chat
from tests.dashboard_support import SAFE_ANSWERS, make_request

TOKEN = "metrics-token-for-tests-0123456789"


def _values(body: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_not_found_without_a_token(sqlite_engine: Engine) -> None:
    assert sqlite_engine.settings.metrics_token == ""
    assert TestClient(create_app(sqlite_engine)).get("/metrics").status_code == 404


def test_a_wrong_or_missing_token_is_refused(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_engine.settings, "metrics_token", TOKEN)
    client = TestClient(create_app(sqlite_engine))
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "frontdoor" not in wrong.text
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401


def test_counts_without_personal_data(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine.settings, "metrics_token", TOKEN)
    now = datetime.now(UTC)
    urgent = make_request(engine, now - timedelta(hours=2), priority=5, person="p-urgent")
    calm = make_request(engine, now - timedelta(minutes=5), priority=0, person="p-calm")
    with engine.db.session() as session:
        for number, status in enumerate(("pending", "pending", "failed")):
            session.add(
                Outbox(
                    channel="sms",
                    kind="test",
                    dedupe_key=f"test-{number}",
                    payload_enc=b"x",
                    status=status,
                    next_attempt_at=now,
                    expires_at=now + timedelta(hours=1),
                    created_at=now,
                )
            )
        session.add(
            OutboundMessage(
                channel="sms",
                person_key="k",
                status="undelivered",
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()
    client = TestClient(create_app(engine))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    before = _values(client.get("/metrics", headers=auth).text)
    handled = ("frontdoor_messages_handled_total", (("channel", "sms"), ("outcome", "answered")))
    Chat(engine, address="+447700900999").walk("hello my name is Alex", "1")

    response = client.get("/metrics", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    values = _values(response.text)
    assert values[handled] - before.get(handled, 0) == 2
    assert values[("frontdoor_urgent_requests_waiting", ())] == 1
    assert values[("frontdoor_requests_waiting", ())] == 2
    assert 7000 < values[("frontdoor_oldest_wait_seconds", ())] < 7300
    assert values[("frontdoor_outbox_pending", ())] == 2
    assert values[("frontdoor_outbox_failed", ())] == 1
    assert values[("frontdoor_replies_failed", ())] == 1

    with engine.db.session() as session:
        keys = set(session.execute(select(CallbackRequest.person_key)).scalars())
        keys |= set(session.execute(select(Conversation.person_key)).scalars())
    personal = {urgent, calm, "+447700900999", "7700900999", "Alex", "Sam", "bluebell"}
    personal |= {SAFE_ANSWERS["phone"], SAFE_ANSWERS["phone"][3:], "hello"} | keys
    for value in personal:
        assert value not in response.text, "personal data in /metrics"
    allowed = {"channel", "outcome", "kind"}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            assert set(sample.labels) <= allowed


def test_purge_totals_from_the_worker_reach_the_web_scrape(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.web.metrics import record_purged

    monkeypatch.setattr(engine.settings, "metrics_token", TOKEN)
    now = datetime.now(UTC)
    record_purged(engine.db, {"requests": 3, "outbox": 0, "conversations": 2}, now)
    record_purged(engine.db, {"requests": 4}, now)
    response = TestClient(create_app(engine)).get(
        "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    values = _values(response.text)
    assert values[("frontdoor_purged_total", (("kind", "requests"),))] == 7
    assert values[("frontdoor_purged_total", (("kind", "conversations"),))] == 2
    assert ("frontdoor_purged_total", (("kind", "outbox"),)) not in values


def test_practice_requests_are_not_counted_as_waiting(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_production import simulator_request

    monkeypatch.setattr(sqlite_engine.settings, "metrics_token", TOKEN)
    simulator_request(sqlite_engine, priority=9)
    response = TestClient(create_app(sqlite_engine)).get(
        "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    values = _values(response.text)
    assert values[("frontdoor_urgent_requests_waiting", ())] == 0
    assert values[("frontdoor_requests_waiting", ())] == 0
