"""Live chats on the dashboard without a browser: every rule and every refusal.

The real app (FastAPI TestClient) on real, migrated databases; the person's
side is written through the same store the engine uses (tests/chat_support.py)
and time is moved with the dashboard's clock, never by sleeping.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.content.model import Content
from bot.dashboard import conversations
from bot.engine import Engine
from bot.settings import PROJECT_ROOT
from bot.storage import binding, chats
from bot.storage.models import CallbackRequest, LiveChat
from bot.text import GSM7_CHARS, GSM7_EXTENDED, sms_segments, to_gsm_plain
from tests.chat_support import (
    audit_rows,
    chat_row,
    lines,
    outbox_rows,
    person_says,
    start_chat,
    worker_rows,
)
from tests.conftest import Chat, clean, make_settings
from tests.dashboard_support import Clock, add_user, app_with_clock, signed_in

PHONE = "+447700900123"


@dataclass
class Site:
    engine: Engine
    app: FastAPI
    clock: Clock

    def chat(self, minutes_ago: float = 1, **kwargs: object) -> int:
        return start_chat(self.engine, self.clock.now - timedelta(minutes=minutes_ago), **kwargs)  # type: ignore[arg-type]


def build(url: str, tmp_path: Path, content: Content) -> Site:
    clean(url)
    # Sessions outlast the clock moves here (the idle sign-out has its own tests).
    settings = make_settings(tmp_path, url, dashboard_idle_minutes=24 * 60)
    engine = Engine(settings=settings, content=content)
    for name, role in (("alice", "handler"), ("bob", "handler"), ("sue", "supervisor")):
        add_user(engine, name, role)
    clock = Clock()
    return Site(engine, app_with_clock(engine, clock), clock)


@pytest.fixture
def site(sqlite_url: str, tmp_path: Path, content: Content) -> Iterator[Site]:
    built = build(sqlite_url, tmp_path, content)
    yield built
    built.engine.db.dispose()


@pytest.fixture
def both(db_url: str, tmp_path: Path, content: Content) -> Iterator[Site]:
    """The same site on SQLite and on PostgreSQL."""
    built = build(db_url, tmp_path, content)
    yield built
    built.engine.db.dispose()


def post(client: TestClient, csrf: str, url: str, **data: object):  # noqa: ANN201
    return client.post(url, data={"csrf_token": csrf, **data}, follow_redirects=False)


def claim(client: TestClient, csrf: str, chat_id: int):  # noqa: ANN201
    return post(client, csrf, f"/dashboard/conversations/{chat_id}/claim")


def reply(client: TestClient, csrf: str, chat_id: int, text: str = "", **data: object):  # noqa: ANN201
    return post(client, csrf, f"/dashboard/conversations/{chat_id}/reply", text=text, **data)


def holding(site: Site, name: str = "alice", **kwargs: object) -> tuple[TestClient, str, int]:
    chat_id = site.chat(**kwargs)
    client, csrf = signed_in(site.app, name)
    assert claim(client, csrf, chat_id).status_code == 303
    return client, csrf, chat_id


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# ----- every route names its role ------------------------------------------------------

ROUTES = {
    ("GET", "/dashboard/conversations"): "handler",
    ("GET", "/dashboard/conversations/rows"): "handler",
    ("GET", "/dashboard/conversations/{chat_id}"): "handler",
    ("GET", "/dashboard/conversations/{chat_id}/live"): "handler",
    ("POST", "/dashboard/conversations/{chat_id}/claim"): "handler",
    ("POST", "/dashboard/conversations/{chat_id}/reply"): "handler",
    ("POST", "/dashboard/conversations/{chat_id}/end"): "handler",
    ("POST", "/dashboard/conversations/{chat_id}/callback"): "handler",
    ("POST", "/dashboard/conversations/{chat_id}/transfer"): "handler",
    ("POST", "/dashboard/conversations/{chat_id}/take-over"): "supervisor",
}


def routes() -> dict[tuple[str, str], APIRoute]:
    return {
        (method, route.path): route
        for route in conversations.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }


def test_every_chat_route_declares_its_role(site: Site) -> None:
    found = routes()
    assert set(found) == set(ROUTES), "a new route needs a line in ROUTES"
    for key, route in found.items():
        roles = {getattr(dep.call, "role", None) for dep in route.dependant.dependencies} - {None}
        assert roles == {ROUTES[key]}, key


@pytest.mark.parametrize("visitor", ["anonymous", "handler"])
def test_anonymous_and_handlers_are_kept_where_they_belong(site: Site, visitor: str) -> None:
    chat_id = site.chat()
    if visitor == "anonymous":
        client, csrf = TestClient(site.app), ""
    else:
        client, csrf = signed_in(site.app, "alice")
    for (method, path), role in ROUTES.items():
        url = path.replace("{chat_id}", str(chat_id))
        if method == "GET":
            response = client.get(url, follow_redirects=False)
        else:
            response = post(client, csrf, url)
        if visitor == "anonymous":
            assert response.status_code == 303, url
            assert response.headers["location"].startswith("/dashboard/login")
        elif role == "supervisor":
            assert response.status_code == 403, url
            assert "Only supervisors can open this page." in response.text
        else:
            assert response.status_code < 500, url


def test_no_route_can_start_a_conversation_with_a_number(site: Site) -> None:
    """Chats begin only when a person writes: nothing here takes an address."""
    for (method, path), _role in ROUTES.items():
        if method == "POST":
            assert "{chat_id}" in path, path
    client, csrf = signed_in(site.app, "sue")
    for url in ("/dashboard/conversations", "/dashboard/conversations/new"):
        response = post(client, csrf, url, number=PHONE, text="hello")
        assert response.status_code in (404, 405), url
    assert outbox_rows(site.engine) == []
    for route in routes().values():
        fields = {p.name for p in route.dependant.body_params}
        assert not fields & {"address", "phone", "to_number"}, route.path


# ----- the list ------------------------------------------------------------------------


def test_the_list_orders_by_urgency_and_never_shows_a_number_or_a_name(site: Site) -> None:
    quiet = site.chat(minutes_ago=20, first="My name is Samira, number 07700 900123")
    danger = site.chat(minutes_ago=2, address="+447700900124", signals=["danger_now"])
    child = site.chat(minutes_ago=3, address="+447700900125", signals=["child"], locale="pl")
    client, _ = signed_in(site.app, "alice")
    page = client.get("/dashboard/conversations")
    assert page.status_code == 200
    order = [int(n) for n in re.findall(r'<tr class="[^"]*" data-chat="(\d+)"', page.text)]
    assert order == [danger, child, quiet]
    shown = text_of(page.text)
    for private in ("Samira", "07700", "900123", PHONE, "+44"):
        assert private not in shown
    assert "suggests danger now" in shown and "Polish" in shown
    assert [e.user_name for e in audit_rows(site.engine, "chats_view")] == ["alice"]


def test_the_list_polls_and_answers_204_until_something_changes(site: Site) -> None:
    client, _ = signed_in(site.app, "alice")
    page = client.get("/dashboard/conversations")
    shown = re.search(r"rows\?shown=([0-9a-f]+)", page.text).group(1)  # type: ignore[union-attr]
    assert client.get(f"/dashboard/conversations/rows?shown={shown}").status_code == 204
    site.chat()
    changed = client.get(f"/dashboard/conversations/rows?shown={shown}")
    assert changed.status_code == 200 and "Chat " in changed.text


def test_a_supervisor_is_alerted_when_a_chat_waits_too_long(site: Site) -> None:
    alert = site.engine.settings.chat_wait_alert_minutes
    chat_id = site.chat(minutes_ago=alert - 1)
    sue, _ = signed_in(site.app, "sue")
    alice, _ = signed_in(site.app, "alice")
    assert 'id="wait-alert"' not in sue.get("/dashboard/conversations").text
    site.clock.advance(minutes=2)
    page = sue.get("/dashboard/conversations").text
    assert 'id="wait-alert"' in page
    assert f"waited more than {alert} minutes" in text_of(page)
    assert f"/dashboard/conversations/{chat_id}" in page
    assert 'id="wait-alert"' not in alice.get("/dashboard/conversations").text


# ----- claiming ------------------------------------------------------------------------


def test_claiming_is_one_worker_per_chat_and_audited(both: Site) -> None:
    chat_id = both.chat()
    alice, alice_csrf = signed_in(both.app, "alice")
    bob, bob_csrf = signed_in(both.app, "bob")
    assert claim(alice, alice_csrf, chat_id).headers["location"].endswith(f"/{chat_id}")
    lost = claim(bob, bob_csrf, chat_id)
    assert lost.headers["location"] == "/dashboard/conversations?problem=taken"
    assert "Another worker claimed that chat first." in bob.get(lost.headers["location"]).text
    row = chat_row(both.engine, chat_id)
    assert row.status == "open"
    assert [e.user_name for e in audit_rows(both.engine, "chat_claim")] == ["alice"]
    assert [(e.user_name, e.detail) for e in audit_rows(both.engine, "chat_claim_lost")] == [
        ("bob", "taken")
    ]


def test_the_per_worker_limit_refuses_one_more(site: Site) -> None:
    limit = site.engine.settings.chat_max_open_per_worker
    ids = [site.chat(address=f"+4477009002{n:02d}") for n in range(limit + 1)]
    alice, csrf = signed_in(site.app, "alice")
    for chat_id in ids[:limit]:
        assert claim(alice, csrf, chat_id).status_code == 303
    refused = claim(alice, csrf, ids[limit])
    assert refused.headers["location"] == "/dashboard/conversations?problem=limit"
    page = text_of(alice.get(refused.headers["location"]).text)
    assert f"You already hold {limit} chats, the most at once." in page
    assert chat_row(site.engine, ids[limit]).status == "waiting"
    bob, bob_csrf = signed_in(site.app, "bob")
    assert claim(bob, bob_csrf, ids[limit]).status_code == 303


def race(site: Site, chat_id: int) -> list[str]:
    """Alice and Bob press Claim at the same moment, each in their own thread."""
    clients = [signed_in(site.app, name) for name in ("alice", "bob")]
    results: list[str] = []
    barrier = threading.Barrier(2)

    def go(client: TestClient, csrf: str) -> None:
        barrier.wait()
        results.append(claim(client, csrf, chat_id).headers["location"])

    threads = [threading.Thread(target=go, args=pair) for pair in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_workers_racing_to_claim_on_postgresql(
    postgres_url: str, tmp_path: Path, content: Content
) -> None:
    site = build(postgres_url, tmp_path, content)
    try:
        for round_ in range(5):
            chat_id = site.chat(address=f"+4477009003{round_:02d}")
            results = race(site, chat_id)
            won = [r for r in results if r.endswith(f"/{chat_id}")]
            assert len(won) == 1, results
            assert [r for r in results if r not in won] == [
                "/dashboard/conversations?problem=taken"
            ]
            with site.engine.db.session() as session:  # the winner finishes, ready for more
                chat = chats.get_chat(session, chat_id)
                assert chat is not None and chat.status == "open"
                chats.end_chat(session, chat, "support_given", site.clock.now)
                session.commit()
        assert len(audit_rows(site.engine, "chat_claim")) == 5
    finally:
        site.engine.db.dispose()


# ----- reading ---------------------------------------------------------------------------


def test_transcripts_are_for_the_holder_and_supervisors_and_every_view_is_audited(
    site: Site,
) -> None:
    chat_id = site.chat(first="he took my phone again")
    bob, _ = signed_in(site.app, "bob")
    summary = bob.get(f"/dashboard/conversations/{chat_id}")
    assert summary.status_code == 200
    assert "he took my phone" not in summary.text, "not before claiming"
    assert "Claim this chat" in summary.text
    alice, csrf = signed_in(site.app, "alice")
    claim(alice, csrf, chat_id)
    page = alice.get(f"/dashboard/conversations/{chat_id}")
    assert "he took my phone again" in page.text and 'id="reply-form"' in page.text
    refused = bob.get(f"/dashboard/conversations/{chat_id}")
    assert refused.status_code == 403
    assert "he took my phone" not in refused.text
    live = bob.get(f"/dashboard/conversations/{chat_id}/live")
    assert "he took my phone" not in live.text
    sue, _ = signed_in(site.app, "sue")
    read = sue.get(f"/dashboard/conversations/{chat_id}")
    assert "he took my phone again" in read.text
    assert 'id="reply-form"' not in read.text, "supervisors read only"
    assert "Take over this chat" in read.text
    views = [(e.user_name, e.detail) for e in audit_rows(site.engine, "chat_view")]
    assert views == [("bob", "summary"), ("alice", "holder"), ("sue", "supervisor")]
    assert [(e.user_name, e.detail) for e in audit_rows(site.engine, "chat_refused")] == [
        ("bob", "not_holder")
    ]
    assert all(e.reference == f"chat-{chat_id}" for e in audit_rows(site.engine, "chat_view"))


def test_the_chat_page_shows_language_and_safe_contact_facts(site: Site) -> None:
    windows = [{"day": "tue", "start": "09:00", "end": "12:00"}]
    _, _, chat_id = holding(site, locale="uk", later_texts_ok=True, windows=windows)
    alice, _ = signed_in(site.app, "alice")
    page = text_of(alice.get(f"/dashboard/conversations/{chat_id}").text)
    assert "Ukrainian" in page
    assert "The person said texts later are safe" in page
    assert "Tue 09:00" in page and "12:00" in page
    assert PHONE not in page


def test_a_signal_arriving_mid_chat_shows_on_the_next_poll(site: Site) -> None:
    alice, _, chat_id = holding(site)
    page = alice.get(f"/dashboard/conversations/{chat_id}")
    shown = re.search(r"live\?shown=([0-9a-f]+)", page.text).group(1)  # type: ignore[union-attr]
    assert alice.get(f"/dashboard/conversations/{chat_id}/live?shown={shown}").status_code == 204
    person_says(
        site.engine, chat_id, "he is coming back with a knife", site.clock.now, ["danger_now"]
    )
    live = alice.get(f"/dashboard/conversations/{chat_id}/live?shown={shown}")
    assert live.status_code == 200
    assert "he is coming back with a knife" in live.text
    assert 'data-flag="danger_now"' in live.text and "suggests danger now" in live.text


# ----- replying ----------------------------------------------------------------------------


def test_a_reply_is_stored_sealed_queued_and_audited_without_its_words(both: Site) -> None:
    alice, csrf, chat_id = holding(both)
    response = reply(alice, csrf, chat_id, "I'm here. Are you safe to talk?")
    assert response.status_code == 303
    assert response.headers["location"].endswith("?sent=1-GSM-7")
    [row] = worker_rows(both.engine, chat_id)
    assert row.delivery == "queued" and row.outbox_id is not None
    assert b"safe to talk" not in row.body_enc
    [queued] = outbox_rows(both.engine)
    assert queued.id == row.outbox_id and queued.kind == "chat_message"
    page = alice.get(response.headers["location"]).text
    assert "I&#39;m here. Are you safe to talk?" in page and 'data-delivery="queued"' in page
    [event] = audit_rows(both.engine, "chat_reply")
    assert (event.user_name, event.detail) == ("alice", "GSM-7:1")
    for event in audit_rows(both.engine):
        assert "safe" not in (event.detail or "") and PHONE not in (event.detail or "")


def test_an_empty_reply_is_refused_calmly(site: Site) -> None:
    alice, csrf, chat_id = holding(site)
    response = reply(alice, csrf, chat_id, "   \n ")
    assert response.status_code == 422
    assert "There is nothing to send." in response.text
    assert worker_rows(site.engine, chat_id) == []
    assert [e.detail for e in audit_rows(site.engine, "chat_refused")] == ["empty"]


def test_only_the_holder_may_reply_and_supervisors_only_after_taking_over(site: Site) -> None:
    _, _, chat_id = holding(site)
    bob, bob_csrf = signed_in(site.app, "bob")
    sue, sue_csrf = signed_in(site.app, "sue")
    for client, csrf in ((bob, bob_csrf), (sue, sue_csrf)):
        response = reply(client, csrf, chat_id, "hello")
        assert response.status_code == 409
        assert "You do not hold this chat" in response.text
    assert worker_rows(site.engine, chat_id) == []
    assert [e.detail for e in audit_rows(site.engine, "chat_refused")] == ["not_yours"] * 2


def test_a_waiting_chat_cannot_be_replied_to_before_it_is_claimed(site: Site) -> None:
    chat_id = site.chat()
    alice, csrf = signed_in(site.app, "alice")
    assert reply(alice, csrf, chat_id, "hello").status_code == 409
    assert worker_rows(site.engine, chat_id) == []


def test_the_reply_window_refuses_a_late_reply(site: Site) -> None:
    window = site.engine.settings.chat_reply_window_minutes
    alice, csrf, chat_id = holding(site)
    site.clock.advance(minutes=window + 1)
    page = alice.get(f"/dashboard/conversations/{chat_id}").text
    assert "you cannot reply until they write again" in text_of(page)
    response = reply(alice, csrf, chat_id, "are you still there?")
    assert response.status_code == 409
    assert f"More than {window} minutes have passed" in text_of(response.text)
    assert "are you still there?" in response.text, "what was typed is kept"
    assert worker_rows(site.engine, chat_id) == []
    assert [e.detail for e in audit_rows(site.engine, "chat_refused")] == ["too_late"]
    person_says(site.engine, chat_id, "sorry, I'm back", site.clock.now)
    assert reply(alice, csrf, chat_id, "welcome back").status_code == 303


def test_later_texts_inside_the_safe_times_may_be_answered_late(site: Site) -> None:
    # The clock is Tuesday 10:00 in London.
    inside = [{"day": "tue", "start": "09:00", "end": "12:00"}]
    alice, csrf, chat_id = holding(site, later_texts_ok=True, windows=inside)
    site.clock.advance(minutes=60)
    assert reply(alice, csrf, chat_id, "I can reply now").status_code == 303
    site.clock.advance(hours=3)  # 14:00, past their safe time
    assert reply(alice, csrf, chat_id, "and now?").status_code == 409
    assert len(worker_rows(site.engine, chat_id)) == 1


def test_a_message_past_two_segments_needs_a_confirmation(site: Site) -> None:
    alice, csrf, chat_id = holding(site)
    long = "Here is what you can do next. " * 12  # GSM-7, 3 segments
    assert sms_segments(long.strip()) == ("GSM-7", 3)
    refused = reply(alice, csrf, chat_id, long)
    assert refused.status_code == 409
    assert "This message is 3 SMS parts long." in text_of(refused.text)
    assert worker_rows(site.engine, chat_id) == []
    sent = reply(alice, csrf, chat_id, long, confirm_long="true")
    assert sent.headers["location"].endswith("?sent=3-GSM-7")
    assert [e.detail for e in audit_rows(site.engine, "chat_reply")] == ["GSM-7:3"]


def test_the_server_counts_ucs2_for_the_persons_script(site: Site) -> None:
    alice, csrf, chat_id = holding(site, locale="uk")
    ukrainian = "Ви в безпеці зараз? " * 7  # 140 UCS-2 characters: 3 segments
    refused = reply(alice, csrf, chat_id, ukrainian)
    assert refused.status_code == 409 and "3 SMS parts" in text_of(refused.text)
    short = "Ви в безпеці зараз?"
    assert reply(alice, csrf, chat_id, short).headers["location"].endswith("?sent=1-UCS-2")


def test_a_message_too_long_for_one_text_is_refused_even_when_confirmed(site: Site) -> None:
    alice, csrf, chat_id = holding(site)
    response = reply(alice, csrf, chat_id, "x" * 1601, confirm_long="true")
    assert response.status_code == 422
    assert "longer than one text can carry" in response.text
    assert worker_rows(site.engine, chat_id) == []


def test_saved_replies_go_in_the_persons_language(site: Site) -> None:
    alice, csrf, chat_id = holding(site, locale="pl")
    page = alice.get(f"/dashboard/conversations/{chat_id}").text
    content = site.engine.content
    polish = to_gsm_plain(content.text("saved_replies.safe_to_talk", "pl"))
    assert polish != content.text("saved_replies.safe_to_talk", "en")
    assert 'value="saved_replies.safe_to_talk"' in page
    response = reply(alice, csrf, chat_id, "", saved="saved_replies.safe_to_talk")
    assert response.status_code == 303
    [line] = [x for x in lines(site.engine, chat_id) if x.author == "worker"]
    assert line.text == polish


def test_every_saved_reply_is_translated_into_every_shipped_language(site: Site) -> None:
    content = site.engine.content
    keys = [k for k in content.entries if k.startswith("saved_replies.")]
    assert len(keys) >= 5
    for key in keys:
        english = content.text(key, "en")
        for locale in site.engine.settings.locales:
            if locale != "en":
                assert content.text(key, locale) != english, (key, locale)


def test_the_page_counter_uses_the_servers_gsm_tables() -> None:
    """The reply box's counter (a static file) and the server agree on GSM-7."""
    script = (PROJECT_ROOT / "bot" / "web" / "static" / "dashboard-chat.js").read_text()
    basic = json.loads(re.search(r'var GSM_BASIC = ("(?:[^"\\]|\\.)*");', script).group(1))  # type: ignore[union-attr]
    extended = json.loads(re.search(r'var GSM_EXTENDED = ("(?:[^"\\]|\\.)*");', script).group(1))  # type: ignore[union-attr]
    assert set(extended) == set(GSM7_EXTENDED)
    assert set(basic) | set(extended) == set(GSM7_CHARS)


# ----- ending, call-backs, transfer, take-over ------------------------------------------------


def test_ending_needs_an_outcome_and_then_nothing_more_can_be_sent(site: Site) -> None:
    alice, csrf, chat_id = holding(site)
    url = f"/dashboard/conversations/{chat_id}/end"
    refused = post(alice, csrf, url, outcome="not_an_outcome")
    assert refused.status_code == 422 and "Choose an outcome" in refused.text
    ended = post(alice, csrf, url, outcome="signposted")
    assert ended.headers["location"] == f"/dashboard/conversations?done=ended-{chat_id}"
    row = chat_row(site.engine, chat_id)
    assert (row.status, row.outcome) == ("ended", "signposted")
    late = reply(alice, csrf, chat_id, "one more thing")
    assert late.status_code == 409 and "This chat has ended." in late.text
    assert post(alice, csrf, url, outcome="signposted").status_code == 409
    assert [e.detail for e in audit_rows(site.engine, "chat_end")] == ["signposted"]
    assert [e.detail for e in audit_rows(site.engine, "chat_refused")] == [
        "no_outcome",
        "ended",
        "ended",
    ]


def test_a_chat_becomes_a_callback_request_without_asking_again(both: Site) -> None:
    windows = [{"day": "wed", "start": "13:00", "end": "15:00"}]
    alice, csrf, chat_id = holding(
        both, locale="ro", signals=["danger_now"], later_texts_ok=True, windows=windows
    )
    response = post(alice, csrf, f"/dashboard/conversations/{chat_id}/callback")
    assert response.status_code == 303
    reference = response.headers["location"].split("done=callback-")[1]
    with both.engine.db.session() as session:
        request = session.execute(
            select(CallbackRequest).where(CallbackRequest.reference == reference)
        ).scalar_one()
        details = both.engine.vault.open(
            request.details_enc, binding.request_details(request.reference)
        )
        session.commit()
    assert details["phone"] == PHONE
    assert request.language == "ro" and request.safe_windows == windows and not request.asap
    assert "danger_now" in request.safety_flags
    assert request.priority >= both.engine.settings.urgent_priority
    assert request.voicemail_ok is False and request.status == "open"
    row = chat_row(both.engine, chat_id)
    assert (row.status, row.request_id) == ("ended", request.id)
    page = alice.get(response.headers["location"]).text
    assert "Turned into call-back request" in text_of(page) and reference in page
    again = post(alice, csrf, f"/dashboard/conversations/{chat_id}/callback")
    assert again.status_code == 409


def test_a_telegram_chat_needs_the_number_the_person_gave(site: Site) -> None:
    alice, csrf, chat_id = holding(site, channel="telegram", address="5550001")
    url = f"/dashboard/conversations/{chat_id}/callback"
    refused = post(alice, csrf, url)
    assert refused.status_code == 422
    assert "Type the number the person gave" in refused.text
    assert post(alice, csrf, url, number="not a number").status_code == 422
    made = post(alice, csrf, url, number="07700 900456")
    assert made.status_code == 303
    assert chat_row(site.engine, chat_id).request_id is not None
    assert [e.detail for e in audit_rows(site.engine, "chat_refused")] == [
        "need_number",
        "need_number",
    ]


def test_transfer_hands_the_chat_and_its_replies_to_another_worker(site: Site) -> None:
    alice, csrf, chat_id = holding(site)
    url = f"/dashboard/conversations/{chat_id}/transfer"
    assert post(alice, csrf, url, to="nobody").status_code == 409
    assert post(alice, csrf, url, to="alice").status_code == 409
    moved = post(alice, csrf, url, to="bob")
    assert moved.headers["location"] == f"/dashboard/conversations?done=transferred-{chat_id}"
    bob, bob_csrf = signed_in(site.app, "bob")
    assert (
        reply(bob, bob_csrf, chat_id, "Hello, I'm taking over from my colleague.").status_code
        == 303
    )
    assert reply(alice, csrf, chat_id, "still me").status_code == 409
    assert alice.get(f"/dashboard/conversations/{chat_id}").status_code == 403
    assert [e.detail for e in audit_rows(site.engine, "chat_transfer")] == ["to:bob"]


def test_transfer_respects_the_other_workers_limit(site: Site) -> None:
    limit = site.engine.settings.chat_max_open_per_worker
    bob, bob_csrf = signed_in(site.app, "bob")
    for n in range(limit):
        claim(bob, bob_csrf, site.chat(address=f"+4477009004{n:02d}"))
    alice, csrf, chat_id = holding(site)
    refused = post(alice, csrf, f"/dashboard/conversations/{chat_id}/transfer", to="bob")
    assert refused.status_code == 409
    assert "That worker already holds as many chats as they can." in refused.text
    assert chat_row(site.engine, chat_id).claimed_by is not None
    assert reply(alice, csrf, chat_id, "still with you").status_code == 303


def test_a_supervisor_takes_over_and_the_worker_stops(site: Site) -> None:
    alice, csrf, chat_id = holding(site)
    sue, sue_csrf = signed_in(site.app, "sue")
    taken = post(sue, sue_csrf, f"/dashboard/conversations/{chat_id}/take-over")
    assert taken.status_code == 303
    assert reply(sue, sue_csrf, chat_id, "I'm a senior worker, I'm here now.").status_code == 303
    assert reply(alice, csrf, chat_id, "hello?").status_code == 409
    assert [e.user_name for e in audit_rows(site.engine, "chat_take_over")] == ["sue"]


def test_answered_chats_and_time_to_first_reply_are_counted_anonymously(site: Site) -> None:
    from bot.storage import figures

    alice, csrf, chat_id = holding(site)  # the person wrote a minute before the claim
    site.clock.advance(minutes=2)
    reply(alice, csrf, chat_id, "Hello, I'm here.")
    reply(alice, csrf, chat_id, "Take your time.")
    day = figures.local_day(site.clock.now)
    with site.engine.db.session() as session:
        found = {
            (t.event, t.dimension, t.value): t.count
            for t in figures.totals(session, day, day, ("chat_answered", "chat_first_reply"))
        }
        session.commit()
    assert found[("chat_answered", "", "")] == 1
    assert found[("chat_answered", "channel", "sms")] == 1
    assert found[("chat_first_reply", "", "")] == 1, "only the first reply is timed"
    assert found[("chat_first_reply", "bucket", "m15")] == 1


def test_practice_chats_from_the_simulator_stay_out_of_the_real_list(site: Site) -> None:
    real = site.chat()
    practice = site.chat(channel="simulator", address="sim-1", signals=["danger_now"])
    alice, _ = signed_in(site.app, "alice")
    shown = alice.get("/dashboard/conversations").text
    assert f'data-chat="{real}"' in shown and f'data-chat="{practice}"' not in shown
    apart = alice.get("/dashboard/conversations?practice=true").text
    assert "Practice conversations" in apart
    assert f'data-chat="{practice}"' in apart and f'data-chat="{real}"' not in apart


# ----- a message left out of hours, a later text, and the person's reply (issue 12) ----
def test_a_message_left_shows_later_texts_in_order_and_the_reply_to_the_worker(
    both: Site,
) -> None:
    person = Chat(both.engine, address=PHONE)
    person.now = both.clock.now - timedelta(hours=12)  # Monday 22:00: out of hours
    person.start()
    person.pick("ask_call")
    person.pick("text_worker")
    person.pick("yes")
    person.pick("asap")
    assert person.keys("Please text me about refuge") == ["live_chat.left"]
    assert person.keys("Mornings are best") == ["live_chat.added"]
    [row] = [r for r in all_chats(both) if r.is_message]
    chat_id = int(row.id or 0)
    alice, csrf = signed_in(both.app, "alice")
    assert claim(alice, csrf, chat_id).status_code == 303
    page = text_of(alice.get(f"/dashboard/conversations/{chat_id}").text)
    assert page.index("Please text me about refuge") < page.index("Mornings are best")
    assert reply(alice, csrf, chat_id, "Hello, it's Alice. Is now OK?").status_code == 303
    both.clock.advance(minutes=40)
    person.now = both.clock.now
    assert person.keys("Yes, now is fine") == [], "the reply goes to Alice, not the bot"
    live = alice.get(f"/dashboard/conversations/{chat_id}/live")
    assert "Yes, now is fine" in live.text
    assert [x.author for x in lines(both.engine, chat_id)] == [
        "person",
        "person",
        "worker",
        "person",
    ]
    assert reply(alice, csrf, chat_id, "Good. Can you tell me more?").status_code == 303


def all_chats(site: Site) -> list[LiveChat]:
    with site.engine.db.session() as session:
        found = list(session.execute(select(LiveChat)).scalars())
        session.commit()
    return found
