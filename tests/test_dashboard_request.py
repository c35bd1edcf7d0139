"""One request: the wishes before the number, claims, releases, call attempts
against the person's wishes, and what the person changes in the bot showing at
once. Routes: bot/dashboard/routes/request.py.

Through the real app on a real, migrated database, once on SQLite and once on
PostgreSQL; time is moved with the dashboard's clock, never by sleeping.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.dashboard import attempts, audit, claims
from bot.storage.binding import attempt_notes, context_of
from tests.dashboard_support import (
    Dash,
    attempt,
    attempt_rows,
    claimed,
    make_request,
    outbox_rows,
    person_store,
    signed_in,
)

# ----- one request ---------------------------------------------------------------------------


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


def test_claims_in_one_transaction_go_to_exactly_one_handler(dash: Dash) -> None:
    reference = make_request(dash.engine, dash.clock.now)
    request_id = dash.request(reference).id
    with dash.engine.db.session() as session:
        from bot.storage.models import StaffUser

        users = list(session.execute(select(StaffUser)).scalars())
        results = [claims.claim(session, request_id, user, dash.clock.now) for user in users]
        session.commit()
    assert results.count(True) == 1


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


# ----- call attempts -------------------------------------------------------------------------


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


# ----- what the person does in the bot shows at once -----------------------------------------


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
