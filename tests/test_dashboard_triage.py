"""What the handler sees of triage and progress: a request saved while the
person is still answering, why it is urgent, its same-day target, who it is
from, the "I can't talk" word, and a closed request shown as closed.

The requests are made by the bot itself (conftest `Chat` on the dashboard's
engine) or through the same RequestStore, on a real migrated database, SQLite
and PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.conftest import Chat
from tests.dashboard_support import Dash, attempt, claimed, make_request, signed_in
from tests.sms_support import SmsChat, sms_engine
from tests.test_journeys import give_number, open_callback


def person(dash: Dash, audience: str = "me", driver: str = "engine") -> Chat:
    """A person asking for a call back, up to a saved request (number and time given)."""
    if driver == "sms":  # through the real, signed SMS webhook
        chat: Chat = SmsChat(sms_engine(dash.engine))
    else:
        chat = Chat(dash.engine, address="+447700900123")
    chat.now = dash.clock.now
    chat.start(audience)
    open_callback(chat)
    give_number(chat)
    chat.pick("asap")
    return chat


@pytest.mark.parametrize("driver", ["engine", "sms"])
def test_a_request_still_being_answered_is_on_the_queue_and_updates(
    dash: Dash,
    driver: str,
) -> None:
    chat = person(dash, driver=driver)
    client, _csrf = signed_in(dash.app, "alice")
    queue = client.get("/dashboard").text
    [reference] = {r for r in queue.split('data-reference="')[1:2]}
    reference = reference.split('"')[0]
    assert "Details still coming" in queue and "Routine" in queue
    page = client.get(f"/dashboard/requests/{reference}").text
    assert "Details still coming." in page and "This is triage, not a DASH score" in page
    chat.pick("yes")  # strangled: urgent on its own
    page = client.get(f"/dashboard/requests/{reference}").text
    assert "<strong>Urgent</strong>" in page and "same-day target, call today" in page
    assert "Triage answer: Strangled, choked or suffocated" in page
    queue = client.get("/dashboard").text
    assert "Target: same day, call today" in queue and "Triage: Strangled" in queue
    chat.pick("skip_all")
    chat.pick("send")
    chat.pick("looks_right")
    page = client.get(f"/dashboard/requests/{reference}").text
    assert "Details still coming" not in page


def test_an_urgent_request_not_called_by_the_next_day_says_the_target_was_missed(
    dash: Dash,
) -> None:
    reference = make_request(dash.engine, dash.clock.now, priority=3, flags=["danger_now"])
    dash.clock.advance(days=1)
    client, _csrf = signed_in(dash.app, "alice")
    page = client.get(f"/dashboard/requests/{reference}").text
    assert "same-day target missed" in page
    assert "Safety screen: The person wrote something that suggests danger now" in page


def test_the_route_is_said_plainly(dash: Dash) -> None:
    friend = make_request(dash.engine, dash.clock.now, route="someone_else", person="a")
    harm = make_request(dash.engine, dash.clock.now, route="own_behaviour", person="b")
    client, _csrf = signed_in(dash.app, "alice")
    page = client.get(f"/dashboard/requests/{friend}").text
    assert "About someone else" in page
    page = client.get(f"/dashboard/requests/{harm}").text
    assert "From a person who may harm others" in page and "They are not the victim" in page


def test_own_behaviour_triage_is_worded_about_what_they_did(dash: Dash) -> None:
    chat = person(dash, "own_behaviour")
    chat.pick("yes")  # held a partner by the neck
    client, _csrf = signed_in(dash.app, "alice")
    reference = client.get("/dashboard").text.split('data-reference="')[1].split('"')[0]
    page = client.get(f"/dashboard/requests/{reference}").text
    assert "Says they have held a partner or ex by the neck" in page
    assert "From a person who may harm others" in page


def test_the_cant_talk_word_shows_with_a_cover_script_to_the_holder(dash: Dash) -> None:
    client, _csrf, reference = claimed(dash, quiet_word="pizza")
    page = client.get(f"/dashboard/requests/{reference}").text
    assert 'If they say "<span dir="auto">pizza</span>", they cannot talk.' in page
    assert "wrong number" in page and "raise the case with a supervisor" in page
    other, _ = signed_in(dash.app, "bob")
    assert "pizza" not in other.get(f"/dashboard/requests/{reference}").text


def test_a_closed_request_is_shown_as_closed(dash: Dash) -> None:
    client, csrf, reference = claimed(dash)
    response = attempt(client, csrf, reference, kind="closed", outcome="support_given")
    assert response.status_code == 303
    page = client.get(f"/dashboard/requests/{reference}").text
    assert "This request is closed." in page
    assert "Safe now" not in page and "Next safe" not in page
    assert "Claim this request" not in page and "claim the request" not in page


def test_a_later_call_never_claims_it_was_agreed(dash: Dash) -> None:
    client, csrf, reference = claimed(dash)
    dash.clock.advance(minutes=1)
    response = attempt(
        client, csrf, reference, kind="call_back_later", call_back_at="2026-11-26T09:30"
    )
    assert response.status_code == 303
    queue = client.get("/dashboard").text
    assert "agreed" not in queue and "Next try planned for Thu 09:30" in queue
