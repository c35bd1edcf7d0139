"""The dashboard without a browser: access, sessions, queue, claims, attempts, audit.

Every test runs the real app (FastAPI TestClient) on a real, migrated SQLite
database; time is moved with the dashboard's clock, never by sleeping.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.content.model import Content
from bot.dashboard import attempts, audit, claims
from bot.dashboard import windows as win
from bot.engine import Engine
from bot.storage.binding import attempt_notes, context_of
from bot.storage.models import AuditEvent, CallAttempt, CallbackRequest, Outbox, StaffSession
from bot.storage.requests import RequestStore
from bot.worker import purge
from tests.conftest import clean, make_settings
from tests.dashboard_support import (
    PASSWORD,
    TUESDAY_10,
    Clock,
    add_user,
    app_with_clock,
    csrf_of,
    make_request,
    sign_in,
    signed_in,
)


@dataclass
class Dash:
    engine: Engine
    app: FastAPI
    clock: Clock

    def request(self, reference: str) -> CallbackRequest:
        with self.engine.db.session() as session:
            found = session.execute(
                select(CallbackRequest).where(CallbackRequest.reference == reference)
            ).scalar_one()
            session.commit()
        return found

    def audit(self, action: str | None = None) -> list[AuditEvent]:
        with self.engine.db.session() as session:
            rows = audit.events(session)
            session.commit()
        return [r for r in rows if action is None or r.action == action]


def build(url: str, tmp_path: Path, content: Content, **overrides: object) -> Dash:
    clean(url)
    engine = Engine(settings=make_settings(tmp_path, url, **overrides), content=content)
    clock = Clock()
    add_user(engine, "alice", "handler")
    add_user(engine, "bob", "handler")
    add_user(engine, "sue", "supervisor")
    return Dash(engine, app_with_clock(engine, clock), clock)


@pytest.fixture
def dash(sqlite_url: str, tmp_path: Path, content: Content) -> Iterator[Dash]:
    built = build(sqlite_url, tmp_path, content)
    yield built
    built.engine.db.dispose()


def person_store(dash: Dash, person: str, session):  # noqa: ANN001, ANN201
    return RequestStore(
        session,
        dash.engine.vault,
        dash.engine.vault.person_key("sms", person),
        "sms",
        dash.clock.now,
        dash.engine.settings.retention_days,
        dash.engine.reference_prefix,
        dash.engine.teams,
    )


# ----- every route has an explicit role, checked for every kind of visitor -----------

ROUTES = {
    ("GET", "/dashboard/login"): "public",
    ("POST", "/dashboard/login"): "public",
    ("POST", "/dashboard/logout"): "handler",
    ("GET", "/dashboard"): "handler",
    ("GET", "/dashboard/queue/rows"): "handler",
    ("POST", "/dashboard/take-next"): "handler",
    ("GET", "/dashboard/requests/{reference}"): "handler",
    ("GET", "/dashboard/requests/{reference}/live"): "handler",
    ("POST", "/dashboard/requests/{reference}/claim"): "handler",
    ("POST", "/dashboard/requests/{reference}/release"): "handler",
    ("POST", "/dashboard/requests/{reference}/number"): "handler",
    ("POST", "/dashboard/requests/{reference}/attempts"): "handler",
    ("GET", "/dashboard/requests/{reference}/audit"): "supervisor",
    ("GET", "/dashboard/audit.csv"): "supervisor",
}


def dashboard_routes(_app: FastAPI) -> dict[tuple[str, str], APIRoute]:
    """The dashboard router's routes (the matrix test proves the app serves them)."""
    from bot.dashboard.routes import router

    found = {}
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path.startswith("/dashboard"):
            for method in route.methods:
                found[(method, route.path)] = route
    return found


def declared_role(route: APIRoute) -> str:
    roles = {getattr(dep.call, "role", None) for dep in route.dependant.dependencies}
    roles.discard(None)
    assert len(roles) <= 1, route.path
    return roles.pop() if roles else "public"


def test_every_route_declares_the_role_the_matrix_expects(dash: Dash) -> None:
    routes = dashboard_routes(dash.app)
    assert set(routes) == set(ROUTES), "a new route needs a line in ROUTES and the matrix"
    for key, route in routes.items():
        assert declared_role(route) == ROUTES[key], key


@pytest.mark.parametrize("visitor", ["anonymous", "handler", "supervisor"])
@pytest.mark.parametrize("key", sorted(ROUTES), ids=lambda k: f"{k[0]} {k[1]}")
def test_route_role_matrix(dash: Dash, key: tuple[str, str], visitor: str) -> None:
    method, path = key
    reference = make_request(dash.engine, dash.clock.now)
    url = path.replace("{reference}", reference)
    if visitor == "anonymous":
        client, csrf = TestClient(dash.app), ""
    else:
        client, csrf = signed_in(dash.app, "alice" if visitor == "handler" else "sue")
    if method == "GET":
        response = client.get(url, follow_redirects=False)
    else:
        data = {"csrf_token": csrf}
        if path == "/dashboard/login":
            data = {"csrf_token": csrf_of(client.get("/dashboard/login").text), "name": "x"}
        response = client.post(url, data=data, follow_redirects=False)
    role = ROUTES[key]
    refused_anonymous = response.status_code == 303 and response.headers["location"] in (
        "/dashboard/login",
        "/dashboard/login?expired=true",
    )
    if role == "public":
        assert response.status_code in (200, 401), response.status_code
    elif visitor == "anonymous":
        assert refused_anonymous, (response.status_code, response.headers.get("location"))
    elif role == "supervisor" and visitor == "handler":
        assert response.status_code == 403
        assert "Only supervisors can open this page." in response.text
    else:
        assert not refused_anonymous, response.headers.get("location")
        assert "Only supervisors can open this page." not in response.text
        assert response.status_code < 500


# ----- sessions, CSRF, cookies ----------------------------------------------------------


def test_post_without_the_sessions_csrf_token_is_refused(dash: Dash) -> None:
    reference = make_request(dash.engine, dash.clock.now)
    client, csrf = signed_in(dash.app, "alice")
    url = f"/dashboard/requests/{reference}/claim"
    for data in ({}, {"csrf_token": "not-the-token"}):
        response = client.post(url, data=data, follow_redirects=False)
        assert response.status_code == 403
        assert "This form had expired" in response.text
    assert dash.request(reference).status == "open"
    other, _ = signed_in(dash.app, "bob")
    assert other.post(url, data={"csrf_token": csrf}).status_code == 403, "tokens are per session"
    response = client.post(url, headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert dash.request(reference).status == "claimed"


def test_login_form_needs_its_own_csrf_token(dash: Dash) -> None:
    client = TestClient(dash.app)
    client.get("/dashboard/login")
    response = client.post("/dashboard/login", data={"name": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert "This form had expired" in response.text
    assert sessions_of(dash) == 0


def sessions_of(dash: Dash) -> int:
    with dash.engine.db.session() as session:
        count = len(list(session.execute(select(StaffSession.id)).scalars()))
        session.commit()
    return count


def test_session_cookie_is_httponly_strict_and_secure_over_https(dash: Dash) -> None:
    plain = sign_in(TestClient(dash.app, base_url="http://testserver"), "alice")
    cookie = plain.headers["set-cookie"]
    assert "fd_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie
    secure = sign_in(TestClient(dash.app, base_url="https://testserver"), "alice")
    assert "Secure" in secure.headers["set-cookie"]
    with dash.engine.db.session() as session:
        hashes = [row.token_hash for row in session.execute(select(StaffSession)).scalars()]
        session.commit()
    token = re.search(r"fd_session=([^;]+)", cookie).group(1)
    assert token not in hashes, "only a hash of the token is stored"


def test_idle_sessions_end_after_fifteen_minutes_and_polling_does_not_keep_them(
    dash: Dash,
) -> None:
    client, _ = signed_in(dash.app, "alice")
    dash.clock.advance(minutes=14)
    assert client.get("/dashboard").status_code == 200  # activity
    dash.clock.advance(minutes=10)
    poll = client.get("/dashboard/queue/rows", headers={"HX-Request": "true"})
    assert poll.status_code == 200  # polling still allowed, but it is not activity
    dash.clock.advance(minutes=6)
    response = client.get("/dashboard", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard/login?expired=true"
    assert (
        "signed out after a time without activity" in client.get(response.headers["location"]).text
    )
    assert [e.user_name for e in dash.audit("session_idle")] == ["alice"]
    poll = client.get("/dashboard/queue/rows", headers={"HX-Request": "true"})
    assert poll.headers["hx-redirect"] == "/dashboard/login"


def test_logout_ends_the_session_on_the_server(dash: Dash) -> None:
    client, csrf = signed_in(dash.app, "alice")
    token = client.cookies.get("fd_session")
    response = client.post("/dashboard/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.headers["location"] == "/dashboard/login?signed_out=true"
    assert "You have signed out." in client.get(response.headers["location"]).text
    stolen = TestClient(dash.app)
    stolen.cookies.set("fd_session", token, path="/dashboard")
    assert stolen.get("/dashboard", follow_redirects=False).status_code == 303
    assert [e.action for e in dash.audit() if e.action in ("login", "logout")] == [
        "login",
        "logout",
    ]


def test_a_disabled_account_cannot_sign_in_and_its_session_ends(dash: Dash) -> None:
    from bot.dashboard import auth

    client, _ = signed_in(dash.app, "alice")
    with dash.engine.db.session() as session:
        assert auth.disable_user(session, "alice", dash.clock.now)
        session.commit()
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert sign_in(TestClient(dash.app), "alice").status_code == 401


# ----- throttling ------------------------------------------------------------------------


def test_an_account_is_locked_after_repeated_failures_then_unlocks(dash: Dash) -> None:
    client = TestClient(dash.app)
    for _ in range(dash.engine.settings.login_max_failures):
        response = sign_in(client, "alice", "wrong password!")
        assert response.status_code == 401
        assert "That name and password do not match" in response.text
    locked = sign_in(client, "alice")
    assert locked.status_code == 429
    assert "Too many failed sign-ins. Please wait 15 minutes" in locked.text
    # Another account from the same address is not locked by this account's failures.
    assert sign_in(TestClient(dash.app), "bob").status_code == 303
    dash.clock.advance(minutes=dash.engine.settings.login_lockout_minutes + 1)
    assert sign_in(client, "alice").status_code == 303
    assert len(dash.audit("login_locked")) == 1
    assert len(dash.audit("login_failed")) == 5


def test_one_address_is_locked_after_failures_across_accounts(
    sqlite_url: str, tmp_path: Path, content: Content
) -> None:
    dash = build(sqlite_url, tmp_path, content, login_max_failures_per_address=4)
    client = TestClient(dash.app)
    for name in ("alice", "bob", "nobody", "someone"):
        assert sign_in(client, name, "wrong password!").status_code == 401
    response = sign_in(client, "sue")
    assert response.status_code == 429, "the address is locked even for a right password"
    dash.engine.db.dispose()


# ----- the queue -------------------------------------------------------------------------


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


# ----- one request -------------------------------------------------------------------------


def test_instructions_come_first_and_the_number_only_after_claiming(dash: Dash) -> None:
    reference = make_request(dash.engine, dash.clock.now, name="سارہ")
    client, csrf = signed_in(dash.app, "alice")
    page = client.get(f"/dashboard/requests/{reference}").text
    assert "+447700900123" not in page and "bluebell" not in page and "سارہ" not in page
    number = client.post(f"/dashboard/requests/{reference}/number", data={"csrf_token": csrf})
    assert number.status_code == 403 and "+447700900123" not in number.text
    assert dash.audit("number_view") == []

    client.post(f"/dashboard/requests/{reference}/claim", data={"csrf_token": csrf})
    page = client.get(f"/dashboard/requests/{reference}").text
    instructions = page.index("Before you call")
    for line in (
        "Is it safe to talk right now?",
        "DO NOT leave a voicemail.",
        "Do not text first.",
        "Call from a withheld number.",
        "If someone else answers: say wrong number and hang up.",
        '<strong dir="auto">bluebell</strong>',
        '<strong dir="auto">سارہ</strong>',
    ):
        assert instructions < page.index(line) < page.index("Record an attempt"), line
    assert "+447700900123" not in page, "the number shows only on request, audited"
    for _ in range(2):
        number = client.post(f"/dashboard/requests/{reference}/number", data={"csrf_token": csrf})
        assert "+447700900123" in number.text
    assert [(e.user_name, e.reference) for e in dash.audit("number_view")] == [
        ("alice", reference)
    ] * 2
    other, other_csrf = signed_in(dash.app, "bob")
    number = other.post(f"/dashboard/requests/{reference}/number", data={"csrf_token": other_csrf})
    assert number.status_code == 403


def test_a_second_claim_is_told_someone_else_has_it(dash: Dash) -> None:
    reference = make_request(dash.engine, dash.clock.now)
    alice, alice_csrf = signed_in(dash.app, "alice")
    bob, bob_csrf = signed_in(dash.app, "bob")
    page_for_bob = bob.get(f"/dashboard/requests/{reference}")
    assert "Claim this request" in page_for_bob.text
    first = alice.post(f"/dashboard/requests/{reference}/claim", data={"csrf_token": alice_csrf})
    second = bob.post(f"/dashboard/requests/{reference}/claim", data={"csrf_token": bob_csrf})
    assert first.status_code == 200 and "You hold this request." in first.text
    assert second.status_code == 409
    assert "Another handler claimed this request just now." in second.text
    assert "+447700900123" not in second.text
    assert [e.user_name for e in dash.audit("claim")] == ["alice"]
    assert [e.user_name for e in dash.audit("claim_lost")] == ["bob"]


def claimed(dash: Dash, name: str = "alice", **answers: object) -> tuple[TestClient, str, str]:
    reference = make_request(dash.engine, dash.clock.now, **answers)
    client, csrf = signed_in(dash.app, name)
    response = client.post(f"/dashboard/requests/{reference}/claim", data={"csrf_token": csrf})
    assert "You hold this request." in response.text
    return client, csrf, reference


def attempt(client: TestClient, csrf: str, reference: str, **fields: str):  # noqa: ANN201
    return client.post(
        f"/dashboard/requests/{reference}/attempts",
        data={"csrf_token": csrf, **fields},
        follow_redirects=False,
    )


def attempt_rows(dash: Dash) -> list[CallAttempt]:
    with dash.engine.db.session() as session:
        rows = list(session.execute(select(CallAttempt).order_by(CallAttempt.id)).scalars())
        session.commit()
    return rows


def test_every_kind_of_attempt_can_be_recorded_with_notes_sealed(dash: Dash) -> None:
    client, csrf, reference = claimed(dash, voicemail=True, text_first=True)
    plain = [
        "reached",
        "no_answer",
        "not_safe",
        "someone_else",
        "wrong_number",
        "left_voicemail",
        "sent_text",
    ]
    for kind in plain:
        response = attempt(client, csrf, reference, kind=kind, notes=f"note about {kind}")
        assert response.status_code == 303, (kind, response.text)
        assert dash.request(reference).status == "claimed"
    response = attempt(
        client, csrf, reference, kind="reached", outcome="referred_idva_marac", notes=""
    )
    assert response.status_code == 303
    # Thursday 09:30 is inside their safe windows.
    later = attempt(
        client, csrf, reference, kind="call_back_later", call_back_at="2026-11-26T09:30"
    )
    assert later.status_code == 303
    request = dash.request(reference)
    assert request.status == "open" and request.claimed_by is None
    assert request.call_back_at == datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    page = client.get("/dashboard").text
    assert "Next try planned for Thu 09:30" in page
    [text] = outbox_rows(dash)
    assert (text.kind, text.channel) == ("text_before_call", "sms")
    assert (
        dash.engine.vault.open(text.payload_enc, context_of("outbox", "payload_enc", text))[
            "address"
        ]
        == "+447700900123"
    )
    client.post(f"/dashboard/requests/{reference}/claim", data={"csrf_token": csrf})
    closed = attempt(client, csrf, reference, kind="closed", outcome="support_given")
    assert closed.status_code == 303
    assert dash.request(reference).status == "closed"
    assert outbox_rows(dash) == []  # closing deletes the unsent text: it would be void

    rows = attempt_rows(dash)
    assert [r.kind for r in rows] == [*plain, "reached", "call_back_later", "closed"]
    assert rows[-1].outcome == "support_given"
    for row in rows[: len(plain)]:
        assert row.notes_enc is not None and b"note about" not in row.notes_enc
        assert (
            dash.engine.vault.open(row.notes_enc, attempt_notes(row.id)) == f"note about {row.kind}"
        )
    assert {e.detail for e in dash.audit("outcome")} == {"referred_idva_marac", "support_given"}
    page = client.get(f"/dashboard/requests/{reference}").text
    assert "note about no_answer" in page and "Referred to IDVA or MARAC" in page


def outbox_rows(dash: Dash) -> list[Outbox]:
    with dash.engine.db.session() as session:
        rows = list(session.execute(select(Outbox)).scalars())
        session.commit()
    return rows


def test_a_text_goes_only_when_the_person_agreed_even_after_an_override(dash: Dash) -> None:
    client, csrf, reference = claimed(dash, name="sue", text_first=False)
    response = attempt(
        client, csrf, reference, kind="sent_text", override_reason="They rang us to ask for it"
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    assert "No text was sent: they did not agree to a text first." in page
    assert outbox_rows(dash) == []
    assert [r.overridden for r in attempt_rows(dash)] == [True]


def test_every_outcome_is_accepted(dash: Dash) -> None:
    for index, outcome in enumerate(attempts.OUTCOMES):
        client, csrf, reference = claimed(dash, person=f"p{index}")
        response = attempt(client, csrf, reference, kind="closed", outcome=outcome)
        assert response.status_code == 303, outcome
    assert sorted(r.outcome for r in attempt_rows(dash)) == sorted(attempts.OUTCOMES)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "left_voicemail"}, "they did not agree to a voicemail"),
        ({"kind": "sent_text"}, "they did not agree to a text"),
        (
            {"kind": "call_back_later", "call_back_at": "2026-11-25T10:00"},
            "that time is outside their safe times",
        ),
        (
            {"kind": "call_back_later", "call_back_at": "2026-11-24T13:00"},
            "that time is outside their safe times",
        ),
    ],
)
def test_actions_against_the_persons_wishes_are_refused(
    dash: Dash, fields: dict[str, str], message: str
) -> None:
    client, csrf, reference = claimed(dash)
    response = attempt(client, csrf, reference, **fields)
    assert response.status_code == 409
    assert message in response.text
    assert attempt_rows(dash) == []
    assert [e.detail for e in dash.audit("refused")] == [fields["kind"]]
    # A handler cannot override, even with a reason.
    response = attempt(client, csrf, reference, **fields, override_reason="I think it is fine")
    assert response.status_code == 409
    assert "Only a supervisor can override a wish." in response.text
    assert attempt_rows(dash) == []


def test_voicemail_refused_when_the_person_skipped_the_question(dash: Dash) -> None:
    client, csrf, reference = claimed(dash, voicemail=None)
    assert attempt(client, csrf, reference, kind="left_voicemail").status_code == 409


def test_a_supervisor_may_override_with_a_written_reason_which_is_audited(dash: Dash) -> None:
    client, csrf, reference = claimed(dash, name="sue")
    refused = attempt(client, csrf, reference, kind="left_voicemail")
    assert "As a supervisor you may override" in refused.text
    reason = "Police asked us to leave a message; risk assessed with the team"
    response = attempt(client, csrf, reference, kind="left_voicemail", override_reason=reason)
    assert response.status_code == 303
    [row] = attempt_rows(dash)
    assert row.overridden and row.kind == "left_voicemail"
    [override] = dash.audit("override")
    assert override.user_name == "sue" and override.detail == "voicemail_not_allowed"
    assert reason.encode() not in override.reason_enc
    assert audit.reason_of(override, dash.engine.vault) == reason
    assert "(supervisor override)" in client.get(f"/dashboard/requests/{reference}").text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "shouted"}, "Choose what happened."),
        ({"kind": "closed"}, "Choose an outcome before closing the request."),
        ({"kind": "reached", "outcome": "magic"}, "Choose an outcome from the list."),
        ({"kind": "call_back_later"}, "Give the new time for the call back"),
        ({"kind": "call_back_later", "call_back_at": "next tuesday"}, "Give the new time"),
        ({"kind": "call_back_later", "call_back_at": "2026-11-24T09:30"}, "must be in the future"),
    ],
)
def test_bad_attempt_input_gets_a_calm_sentence(
    dash: Dash, fields: dict[str, str], message: str
) -> None:
    client, csrf, reference = claimed(dash)
    response = attempt(client, csrf, reference, **fields)
    assert response.status_code == 422
    assert message in response.text
    assert "Traceback" not in response.text


def test_bad_addresses_and_oversized_input_get_calm_answers(dash: Dash) -> None:
    client, csrf = signed_in(dash.app, "alice")
    missing = client.get("/dashboard/requests/FD-NOPE")
    assert missing.status_code == 404 and "There is no request with that reference" in missing.text
    huge = client.get("/dashboard?area=" + "x" * 500, headers={"accept": "text/html"})
    assert huge.status_code == 422 and "could not be read" in huge.text
    response = client.post(
        "/dashboard/requests/FD-NOPE/attempts", data={"csrf_token": csrf, "notes": "x" * 5000}
    )
    assert response.status_code in (404, 422) and "Traceback" not in response.text


def test_attempts_need_the_claim(dash: Dash) -> None:
    reference = make_request(dash.engine, dash.clock.now)
    client, csrf = signed_in(dash.app, "bob")
    response = attempt(client, csrf, reference, kind="no_answer")
    assert response.status_code == 422
    assert "Claim this request before recording an attempt." in response.text


# ----- what the person does in the bot shows at once ------------------------------------------


def test_a_cancellation_in_the_bot_shows_on_the_handlers_screen(dash: Dash) -> None:
    client, csrf, reference = claimed(dash, person="carol")
    live = client.get(f"/dashboard/requests/{reference}/live").text
    seen = re.search(r"seen=([0-9a-f]+)", live).group(1)
    shown = re.search(r"shown=([0-9a-f]+)", live).group(1)
    assert (
        client.get(f"/dashboard/requests/{reference}/live?seen={seen}&shown={shown}").status_code
        == 204
    )
    with dash.engine.db.session() as session:
        assert person_store(dash, "carol", session).cancel()
        session.commit()
    live = client.get(f"/dashboard/requests/{reference}/live?seen={seen}&shown={shown}")
    assert live.status_code == 200
    assert "The person cancelled this request. Do not call." in live.text
    response = attempt(client, csrf, reference, kind="no_answer")
    assert "The person cancelled this request. Do not call." in response.text
    assert attempt_rows(dash) == []


def test_a_change_of_safe_times_in_the_bot_shows_on_the_handlers_screen(dash: Dash) -> None:
    client, _, reference = claimed(dash, person="carol")
    live = client.get(f"/dashboard/requests/{reference}/live").text
    seen = re.search(r"seen=([0-9a-f]+)", live).group(1)
    shown = re.search(r"shown=([0-9a-f]+)", live).group(1)
    with dash.engine.db.session() as session:
        store = person_store(dash, "carol", session)
        assert store.change_times(False, [{"day": "fri", "start": "12:00", "end": "17:00"}])
        session.commit()
    live = client.get(f"/dashboard/requests/{reference}/live?seen={seen}&shown={shown}").text
    assert "The person changed their safe times just now." in live
    assert "Fri 12:00–17:00" in live and "Next safe Fri 12:00" in live


# ----- idle claims return to the queue ----------------------------------------------------------


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


def test_the_worker_forgets_ended_sessions_and_old_sign_in_failures(dash: Dash) -> None:
    from bot.storage.models import LoginThrottle

    sign_in(TestClient(dash.app), "alice", "wrong password!")
    live, _ = signed_in(dash.app, "bob")
    ended, csrf = signed_in(dash.app, "sue")
    ended.post("/dashboard/logout", data={"csrf_token": csrf})
    counts = purge(dash.engine.db, dash.engine.vault, dash.engine.settings, now=dash.clock.now)
    assert counts.sign_ins == 1 and sessions_of(dash) == 1, "only the ended session goes"
    later = dash.clock.now + timedelta(minutes=16)
    counts = purge(dash.engine.db, dash.engine.vault, dash.engine.settings, now=later)
    # bob's idle session, and the throttles of alice and of the address.
    assert counts.sign_ins == 3 and sessions_of(dash) == 0
    with dash.engine.db.session() as session:
        assert list(session.execute(select(LoginThrottle)).scalars()) == []
        session.commit()


def test_the_dashboard_never_imports_flows_or_channels() -> None:
    import subprocess
    import sys

    code = (
        "import sys, bot.dashboard.routes, bot.dashboard.admin;"
        "print(sorted(m for m in sys.modules if m.startswith(('bot.flows', 'bot.channels',"
        " 'bot.engine'))))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]"


def test_a_handler_can_release_and_only_the_holder_or_a_supervisor(dash: Dash) -> None:
    _, _, reference = claimed(dash)
    bob, bob_csrf = signed_in(dash.app, "bob")
    response = bob.post(f"/dashboard/requests/{reference}/release", data={"csrf_token": bob_csrf})
    assert response.status_code == 403
    assert dash.request(reference).status == "claimed"
    sue, sue_csrf = signed_in(dash.app, "sue")
    sue.post(f"/dashboard/requests/{reference}/release", data={"csrf_token": sue_csrf})
    assert dash.request(reference).status == "open"
    assert [e.user_name for e in dash.audit("release")] == ["sue"]


# ----- audit -----------------------------------------------------------------------------------


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


# ----- safe windows --------------------------------------------------------------------------


def test_safe_windows_in_london_time_across_the_clock_change() -> None:
    windows = win.effective([{"day": "tue", "start": "09:00", "end": "12:00"}], False, [])
    summer = datetime(2026, 7, 7, 8, 30, tzinfo=UTC)  # Tuesday 09:30 BST
    state = win.state(windows, summer)
    assert state.now and state.until == datetime(2026, 7, 7, 11, 0, tzinfo=UTC)
    winter = datetime(2026, 11, 24, 8, 30, tzinfo=UTC)  # Tuesday 08:30 GMT
    state = win.state(windows, winter)
    assert not state.now and state.next_start == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    after = win.state(windows, datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    assert after.next_start == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert win.inside(windows, datetime(2026, 7, 7, 10, 59, tzinfo=UTC))
    assert not win.inside(windows, datetime(2026, 7, 7, 11, 0, tzinfo=UTC))


def test_as_soon_as_possible_means_the_service_hours(content: Content) -> None:
    hours = win.service_hours(content.data["service"])
    windows = win.effective([], True, hours)
    assert win.state(windows, TUESDAY_10).now
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    state = win.state(windows, saturday)
    assert not state.now and state.next_start == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_claims_go_to_exactly_one_handler_on_sqlite(dash: Dash) -> None:
    reference = make_request(dash.engine, dash.clock.now)
    request_id = dash.request(reference).id
    with dash.engine.db.session() as session:
        from bot.storage.models import StaffUser

        users = list(session.execute(select(StaffUser)).scalars())
        results = [claims.claim(session, request_id, user, dash.clock.now) for user in users]
        session.commit()
    assert results.count(True) == 1


def test_users_command_adds_and_disables_accounts(
    sqlite_url: str, tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import cli
    from bot.dashboard import admin

    clean(sqlite_url)
    settings = make_settings(tmp_path, sqlite_url)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert cli.main(["users", "add", "Dana", "--role", "supervisor"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["users", "add", "erin", "--role", "handler"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert cli.main(["users", "add", "dana", "--role", "handler"]) == 1, "names are unique"
    engine = Engine(settings=settings, content=content)
    app = app_with_clock(engine, Clock(datetime.now(UTC)))
    client = TestClient(app)
    assert sign_in(client, "dana", "a long enough password").status_code == 303
    with engine.db.session() as session:
        from bot.storage.models import StaffUser

        user = session.execute(select(StaffUser)).scalar_one()
        session.commit()
    assert user.role == "supervisor" and user.password_hash.startswith("$argon2id$")
    assert cli.main(["users", "disable", "dana"]) == 0
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert cli.main(["users", "disable", "nobody"]) == 1
    assert admin.read_password(io.StringIO("from a script\n")) == "from a script"
    engine.db.dispose()


def test_the_migration_matches_the_dashboard_tables(tmp_path: Path) -> None:
    """Upgraded to head, the database has exactly what models.py describes."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    from bot.storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert differences == []
    tables = set(SQLModel.metadata.tables)
    assert {"staff_users", "staff_sessions", "login_failures", "call_attempts"} <= tables
    assert "audit_events" in tables
