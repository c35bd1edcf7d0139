"""The queue: its order, filters, live rows, "Take next", and idle claims going
back to it. Routes: bot/dashboard/routes/queue.py.

Through the real app on a real, migrated database, once on SQLite and once on
PostgreSQL; time is moved with the dashboard's clock, never by sleeping.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.worker import purge
from tests.dashboard_support import (
    Dash,
    attempt,
    claimed,
    make_request,
    signed_in,
)

# ----- the queue -----------------------------------------------------------------------------


def test_queue_orders_by_urgency_then_safe_now_then_waiting(dash: Dash) -> None:
    now = dash.clock.now  # Tuesday 10:00 London
    later_only = [{"day": "wed", "start": "09:00", "end": "12:00"}]
    routine_old = make_request(dash.engine, now - timedelta(hours=3), person="a")
    routine_new = make_request(dash.engine, now - timedelta(hours=1), person="b")
    routine_unsafe = make_request(
        dash.engine, now - timedelta(hours=5), person="c", windows=later_only
    )
    urgent_unsafe = make_request(
        dash.engine, now - timedelta(minutes=5), priority=4, person="d", windows=later_only
    )
    urgent_safe = make_request(dash.engine, now - timedelta(minutes=1), priority=4, person="e")
    client, _ = signed_in(dash.app, "alice")
    page = client.get("/dashboard").text
    order = re.findall(r'data-reference="([^"]+)"', page)
    assert order == [urgent_safe, urgent_unsafe, routine_old, routine_new, routine_unsafe]
    assert "Safe now until 12:00" in page
    assert "Next safe Wed 09:00" in page
    assert "Polish, needs an interpreter" in page
    assert "A woman" in page and "Southend-on-Sea" in page
    for secret in ("+447700900123", "7700900123", "Sam", "bluebell"):
        assert secret not in page, "no number or name in the queue"
    assert len(dash.audit("queue_view")) == 2  # one while signing in, one here


def test_queue_filters_by_area_route_and_language(dash: Dash) -> None:
    now = dash.clock.now
    polish = make_request(dash.engine, now, person="a", language="pl", area="southend")
    urdu = make_request(dash.engine, now, person="b", language="ur", area="thurrock")
    pro = make_request(
        dash.engine, now, person="c", route="professional", language="en", area="thurrock"
    )
    client, _ = signed_in(dash.app, "alice")

    def shown(query: str) -> set[str]:
        return set(re.findall(r'data-reference="([^"]+)"', client.get(f"/dashboard?{query}").text))

    assert shown("language=ur") == {urdu}
    assert shown("area=southend") == {polish}
    assert shown("route=professional") == {pro}
    assert shown("") == {polish, urdu, pro}
    page = client.get("/dashboard").text
    assert '<option value="ur">Urdu</option>' in page


def test_queue_poll_answers_204_until_something_changes(dash: Dash) -> None:
    client, _ = signed_in(dash.app, "alice")
    first = client.get("/dashboard/queue/rows")
    shown = re.search(r"shown=([0-9a-f]+)", first.text).group(1)
    assert client.get(f"/dashboard/queue/rows?shown={shown}").status_code == 204
    reference = make_request(dash.engine, dash.clock.now)
    changed = client.get(f"/dashboard/queue/rows?shown={shown}")
    assert changed.status_code == 200 and reference in changed.text


def test_take_next_claims_the_most_urgent_request_safe_to_call_now(dash: Dash) -> None:
    now = dash.clock.now
    unsafe = make_request(
        dash.engine,
        now - timedelta(hours=2),
        priority=9,
        person="a",
        windows=[{"day": "fri", "start": "09:00", "end": "10:00"}],
    )
    safe_urgent = make_request(dash.engine, now, priority=3, person="b")
    make_request(dash.engine, now - timedelta(hours=3), priority=0, person="c")
    client, csrf = signed_in(dash.app, "alice")
    response = client.post(
        "/dashboard/take-next", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert response.headers["location"] == f"/dashboard/requests/{safe_urgent}"
    assert dash.request(safe_urgent).status == "claimed"
    assert dash.request(unsafe).status == "open"


def test_take_next_says_so_when_nothing_is_safe(dash: Dash) -> None:
    make_request(
        dash.engine, dash.clock.now, windows=[{"day": "sat", "start": "09:00", "end": "10:00"}]
    )
    client, csrf = signed_in(dash.app, "alice")
    response = client.post("/dashboard/take-next", data={"csrf_token": csrf})
    assert "No open request is safe to call right now." in response.text


# ----- idle claims return to the queue -------------------------------------------------------


def test_an_idle_claim_returns_to_the_queue_on_the_next_queue_read(dash: Dash) -> None:
    _, _, reference = claimed(dash)
    minutes = dash.engine.settings.claim_release_minutes
    dash.clock.advance(minutes=minutes - 1)
    other, _ = signed_in(dash.app, "bob")
    other.get("/dashboard")
    assert dash.request(reference).status == "claimed"
    dash.clock.advance(minutes=2)
    page = other.get("/dashboard").text
    assert f'data-reference="{reference}"' in page
    assert dash.request(reference).status == "open"
    assert [e.reference for e in dash.audit("release_idle")] == [reference]


def test_acting_on_a_claim_keeps_it(dash: Dash) -> None:
    client, csrf, reference = claimed(dash)  # claim_release_minutes is 30
    dash.clock.advance(minutes=14)
    client.get("/dashboard")  # the session stays alive; the claim is not touched
    dash.clock.advance(minutes=14)
    response = attempt(client, csrf, reference, kind="no_answer")
    assert response.headers["location"].startswith(f"/dashboard/requests/{reference}")
    dash.clock.advance(minutes=14)  # 42 minutes after the claim, 14 after acting on it
    signed_in(dash.app, "bob")[0].get("/dashboard")
    assert dash.request(reference).status == "claimed"


def test_the_worker_releases_idle_claims(dash: Dash) -> None:
    _, _, reference = claimed(dash)
    later = dash.clock.now + timedelta(minutes=dash.engine.settings.claim_release_minutes + 1)
    counts = purge(dash.engine.db, dash.engine.vault, dash.engine.settings, now=later)
    assert counts.claims == 1
    assert dash.request(reference).status == "open"
