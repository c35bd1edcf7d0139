"""Live chats in a real browser: Debian's chromium driven by Playwright.

Two workers (alice, bob) and a supervisor (sue) each in their own browser
context, against the real app under uvicorn. The person writes through the
same chat store the engine uses; their lines and signals must appear on the
worker's page by polling alone, with no reload. The dashboard's clock
follows real time, moved forward by tests where a rule needs it (the reply
window), so every line is stamped as it would be in use.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from bot.channels.sms import send as sms_send
from bot.content.model import Content
from bot.engine import Engine
from bot.storage.migrate import upgrade
from bot.storage.models import CallbackRequest, LiveChat
from bot.types import Reply
from tests.browser_support import accessible, add_staff, browser, sign_in  # noqa: F401 - the fixture
from tests.chat_support import chat_row, lines, person_says, start_chat, worker_rows
from tests.conftest import clean, make_settings
from tests.dashboard_support import app_with_clock, free_port, served
from tests.fake_bot_api import TOKEN as BOT_TOKEN
from tests.fake_bot_api import FakeBotApi, FakeBotApiServer
from tests.fake_twilio_api import FakeTwilioState, Loopback, fake_twilio
from tests.sms_support import BASE, SERVICE_NUMBER, inbound_params, new_sid, sign, twiml_messages
from tests.sms_support import TOKEN as TWILIO_TOKEN
from tests.sms_support import stored_replies as sms_stored_replies
from tests.telegram_driver import SECRET, next_update_id, text_message
from tests.telegram_driver import stored_replies as telegram_stored_replies

PHONE = "+447700900123"
LONDON = ZoneInfo("Europe/London")


class ShiftClock:
    """Real time, plus however far a test has moved it."""

    def __init__(self) -> None:
        self.shift = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def advance(self, **delta: float) -> None:
        self.shift += timedelta(**delta)


@dataclass
class Site:
    engine: Engine
    clock: ShiftClock
    base: str

    def url(self, path: str) -> str:
        return self.base + path

    def chat(self, **kwargs: object) -> int:
        return start_chat(self.engine, self.clock(), **kwargs)  # type: ignore[arg-type]

    def person(self, chat_id: int, text: str, signals: tuple[str, ...] = ()) -> None:
        person_says(self.engine, chat_id, text, self.clock(), signals)


def start_site(url: str, tmp_path: Path, content: Content) -> Iterator[Site]:
    # Sessions outlast the clock moves here (the idle sign-out has its own tests).
    settings = make_settings(tmp_path, url, dashboard_idle_minutes=24 * 60)
    engine = Engine(settings=settings, content=content)
    add_staff(engine)
    clock = ShiftClock()
    with served(app_with_clock(engine, clock)) as base:
        yield Site(engine, clock, base)
    engine.db.dispose()


@pytest.fixture
def site(tmp_path: Path, content: Content) -> Iterator[Site]:
    url = f"sqlite:///{tmp_path / 'chats.db'}"
    upgrade(url)
    yield from start_site(url, tmp_path, content)


@pytest.fixture
def pg_site(postgres_url: str, tmp_path: Path, content: Content) -> Iterator[Site]:
    clean(postgres_url)
    yield from start_site(postgres_url, tmp_path, content)


# Sees every Content-Security-Policy violation a page causes (an init script is
# not itself subject to the page's policy): the chat pages run no inline script.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def no_violations(page: Page) -> None:
    assert page.evaluate("window.__violations || []") == []


def open_as(browser: Browser, site: Site, name: str) -> Page:  # noqa: F811
    context = browser.new_context()
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.__dict__["script_errors"] = errors
    sign_in(page, site, name)
    expect(page.get_by_role("heading", name="Call-back queue")).to_be_visible()
    page.get_by_role("link", name="Conversations").click()
    expect(page.get_by_role("heading", name="Conversations", exact=True)).to_be_visible()
    return page


def claim_in(page: Page, chat_id: int) -> None:
    page.get_by_role("button", name=f"Claim chat {chat_id}").click()
    expect(page.get_by_role("heading", name=f"Chat {chat_id}")).to_be_visible()
    expect(page.locator("#reply-form")).to_be_visible()


def send(page: Page, text: str) -> None:
    page.get_by_label("Your reply").fill(text)
    page.get_by_role("button", name="Send", exact=True).click()


def test_wait_claim_and_chat_both_ways_with_a_danger_message_mid_chat(
    browser: Browser,  # noqa: F811
    site: Site,
) -> None:
    alice = open_as(browser, site, "alice")
    expect(alice.get_by_text("Nobody is waiting.")).to_be_visible()
    accessible(alice)
    # The person asks for a worker: the list shows it by polling, with no number or name.
    chat_id = site.chat(first="Hi, my name is Samira. Can I talk to someone?")
    row = alice.locator(f'tr[data-chat="{chat_id}"]')
    expect(row).to_be_visible()
    assert "Samira" not in alice.content() and PHONE not in alice.content()
    accessible(alice)
    claim_in(alice, chat_id)
    expect(alice.get_by_text("Hi, my name is Samira. Can I talk to someone?")).to_be_visible()
    accessible(alice)

    send(alice, "Hello, I'm here. Are you safe to talk right now?")
    expect(alice.locator("#chat-sent")).to_contain_text("1 SMS part (GSM-7)")
    worker_line = alice.locator("li.worker").last
    expect(worker_line).to_contain_text("Are you safe to talk right now?")
    expect(worker_line.locator("[data-delivery]")).to_have_text("Waiting to send")
    [stored] = worker_rows(site.engine, chat_id)
    assert stored.outbox_id is not None

    # The person answers, then writes something dangerous: both show without a reload.
    alice.evaluate("window.__same_page = true")
    site.person(chat_id, "yes for now, he is out")
    expect(alice.get_by_text("yes for now, he is out")).to_be_visible()
    site.person(chat_id, "he just came back and he has a knife", ("danger_now",))
    signals = alice.locator("#chat-signals")
    expect(signals).to_contain_text("suggests danger now")
    expect(alice.locator("li.person.signalled").last).to_contain_text("he has a knife")
    assert alice.evaluate("window.__same_page") is True, "updated without a reload"
    accessible(alice)

    # A delivery report changes the status beside the worker's line, again by polling.
    with site.engine.db.session() as session:
        from bot.storage import chats

        chats.mark_delivery(session, stored.outbox_id, "delivered")
        session.commit()
    expect(worker_line.locator("[data-delivery]")).to_have_text("Delivered")


def test_the_segment_counter_and_a_saved_reply_in_the_persons_language(
    browser: Browser,  # noqa: F811
    site: Site,
) -> None:
    chat_id = site.chat(locale="uk", first="Привіт")
    alice = open_as(browser, site, "alice")
    claim_in(alice, chat_id)
    box = alice.get_by_label("Your reply")
    box.fill("Hello")
    expect(alice.locator('[data-count="segments"]')).to_have_text("1")
    expect(alice.locator('[data-count="encoding"]')).to_have_text("GSM-7")
    box.fill("Ви в безпеці? " * 12)
    expect(alice.locator('[data-count="encoding"]')).to_have_text("UCS-2")
    expect(alice.locator('[data-count="segments"]')).to_have_text("3")
    expect(alice.locator('[data-count="long"]')).to_be_visible()
    alice.get_by_role("button", name="Send", exact=True).click()
    expect(alice.locator("#chat-problem")).to_contain_text("This message is 3 SMS parts long.")
    expect(alice.locator('[data-count="long"]')).to_be_visible()
    assert worker_rows(site.engine, chat_id) == []
    alice.get_by_label("Send the longer message").check()
    alice.get_by_role("button", name="Send", exact=True).click()
    expect(alice.locator("#chat-sent")).to_contain_text("3 SMS parts (UCS-2)")

    ukrainian = site.engine.content.text("saved_replies.still_here", "uk")
    alice.get_by_label("Saved reply (in Ukrainian)").select_option("saved_replies.still_here")
    expect(box).to_have_value(ukrainian)
    alice.get_by_role("button", name="Send", exact=True).click()
    expect(alice.locator("li.worker").last).to_contain_text(ukrainian)
    assert [x.text for x in lines(site.engine, chat_id) if x.author == "worker"][-1] == ukrainian
    no_violations(alice)
    refusal = "Failed to load resource: the server responded with a status of 409"
    assert [e for e in alice.__dict__["script_errors"] if not e.startswith(refusal)] == []


def test_the_reply_window_refuses_a_late_reply(browser: Browser, site: Site) -> None:  # noqa: F811
    chat_id = site.chat()
    alice = open_as(browser, site, "alice")
    claim_in(alice, chat_id)
    expect(alice.locator("#reply-window")).to_contain_text("You can reply until")
    site.clock.advance(minutes=site.engine.settings.chat_reply_window_minutes + 1)
    expect(alice.locator("#reply-window")).to_contain_text("you cannot reply until they write")
    send(alice, "Are you still there?")
    problem = alice.locator("#chat-problem")
    expect(problem).to_contain_text("minutes have passed since the person's last message")
    expect(alice.get_by_label("Your reply")).to_have_value("Are you still there?")
    assert worker_rows(site.engine, chat_id) == []
    accessible(alice)


def test_the_per_worker_limit(browser: Browser, site: Site) -> None:  # noqa: F811
    limit = site.engine.settings.chat_max_open_per_worker
    ids = [site.chat(address=f"+4477009002{n:02d}") for n in range(limit + 1)]
    alice = open_as(browser, site, "alice")
    for chat_id in ids[:limit]:
        claim_in(alice, chat_id)
        alice.get_by_role("link", name="Back to conversations").click()
    claim_button = alice.get_by_role("button", name=f"Claim chat {ids[limit]}")
    claim_button.click()
    expect(alice.get_by_role("alert")).to_contain_text(f"You already hold {limit} chats")
    assert chat_row(site.engine, ids[limit]).status == "waiting"
    accessible(alice)


def test_transfer_supervisor_reading_take_over_and_convert_to_callback(
    browser: Browser,  # noqa: F811
    site: Site,
) -> None:
    chat_id = site.chat(signals=("danger_now",), first="I need help, he hurt me")
    alice = open_as(browser, site, "alice")
    bob = open_as(browser, site, "bob")
    sue = open_as(browser, site, "sue")
    claim_in(alice, chat_id)
    expect(bob.locator(f'tr[data-chat="{chat_id}"]')).to_have_count(0)

    # The supervisor reads it live, read-only.
    sue.goto(site.url(f"/dashboard/conversations/{chat_id}"))
    expect(sue.get_by_text("I need help, he hurt me")).to_be_visible()
    expect(sue.locator("#reply-form")).to_have_count(0)
    send(alice, "I'm here with you.")
    expect(sue.get_by_text("I'm here with you.")).to_be_visible()
    accessible(sue)

    # Alice hands it to Bob; her page says so on the next poll, and Bob can reply.
    alice.get_by_label("Transfer to").select_option("bob")
    alice.get_by_role("button", name="Transfer").click()
    expect(alice.get_by_role("status").first).to_contain_text(f"Chat {chat_id} transferred.")
    bob.goto(site.url(f"/dashboard/conversations/{chat_id}"))
    expect(bob.get_by_text("I need help, he hurt me")).to_be_visible()
    send(bob, "Hello, I'm Bob's colleague from the same team, I'm here now.")
    expect(bob.locator("#chat-sent")).to_be_visible()

    # The supervisor takes over; Bob is told on his next poll.
    sue.get_by_role("button", name="Take over this chat").click()
    expect(sue.locator("#reply-form")).to_be_visible()
    expect(bob.locator("#chat-live")).to_contain_text("Only the worker holding this chat")
    for done_with in (alice, bob):  # fewer pages polling one SQLite file
        done_with.context.close()

    # The supervisor turns it into a call-back request: nothing asked again.
    sue.get_by_role("button", name="Turn into a call-back request").click()
    done = sue.locator("#chat-done")
    expect(done).to_contain_text("Turned into call-back request")
    reference = done.get_by_role("link").inner_text()
    done.get_by_role("link").click()
    expect(sue.get_by_role("heading", name=f"Request {reference}")).to_be_visible()
    row = chat_row(site.engine, chat_id)
    assert row.status == "ended" and row.request_id is not None
    accessible(sue)


def test_a_supervisor_sees_a_long_wait_alert(browser: Browser, site: Site) -> None:  # noqa: F811
    sue = open_as(browser, site, "sue")
    chat_id = site.chat()
    expect(sue.locator(f'tr[data-chat="{chat_id}"]')).to_be_visible()
    expect(sue.locator("#wait-alert")).to_have_count(0)
    site.clock.advance(minutes=site.engine.settings.chat_wait_alert_minutes + 1)
    expect(sue.locator("#wait-alert")).to_contain_text(f"chat {chat_id}")
    accessible(sue)


def test_two_workers_race_to_claim_and_exactly_one_wins(
    browser: Browser,  # noqa: F811
    pg_site: Site,
) -> None:
    chat_id = pg_site.chat()
    pages = [open_as(browser, pg_site, name) for name in ("alice", "bob")]
    for page in pages:
        expect(page.locator(f'tr[data-chat="{chat_id}"]')).to_be_visible()
    for page in pages:
        page.get_by_role("button", name=f"Claim chat {chat_id}").click(no_wait_after=True)
    outcomes = []
    for page in pages:
        won = page.locator("#reply-form")
        lost = page.get_by_text("Another worker claimed that chat first.")
        expect(won.or_(lost)).to_be_visible()
        outcomes.append(won.is_visible())
    assert sorted(outcomes) == [False, True]
    assert chat_row(pg_site.engine, chat_id).status == "open"


# ----- a person on SMS and on Telegram, through the real webhooks ----------------------------
#
# The person's side runs through the engine exactly as in use: a danger message,
# then "Text a worker", then "Yes, start". Staffed chat hours are widened to the
# whole day (a copy of the content) so the test does not depend on the hour it
# runs. Workers' lines leave through the app's own quick delivery round
# (bot/web/chat_delivery.py) to a fake Twilio REST API and the fake Bot API,
# both on loopback.

ALL_DAY = {day: ["00:00", "23:59"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
TG_CHAT = 777001


def always_staffed(content: Content) -> Content:
    staffed = copy.deepcopy(content)
    staffed.data["chat_hours"] = {**staffed.data["chat_hours"], "chat_hours": ALL_DAY}
    return staffed


@contextmanager
def served_with_lifespan(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn with its lifespan (channels and the delivery round run)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Channels:
    site: Site
    twilio: FakeTwilioState
    bot_api: FakeBotApi

    def sms(self, text: str) -> list[str]:
        """The person texts; the TwiML bodies they get back."""
        return self._sms(text)[0]

    def _sms(self, text: str) -> tuple[list[str], list[Reply]]:
        sid = new_sid()
        params = inbound_params(text, PHONE, sid)
        response = httpx.post(
            self.site.url("/sms/inbound"),
            content=urlencode(params),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": sign("/sms/inbound", params),
            },
            timeout=20,
        )
        assert response.status_code == 200, response.text
        replies = sms_stored_replies(self.site.engine, sid) or []
        return [m.body for m in twiml_messages(response.text)], replies

    def telegram(self, text: str) -> list[Reply]:
        update_id = next_update_id()
        update = {
            "update_id": update_id,
            "message": text_message(self.bot_api, TG_CHAT, text),
        }
        response = httpx.post(
            self.site.url("/telegram/webhook"),
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            timeout=20,
        )
        assert response.status_code == 200, response.status_code
        return telegram_stored_replies(self.site.engine, update_id)

    def into_chat(self, channel: str) -> int:
        """Ask for a worker as a person in crisis would: the crisis reply offers
        texting with a worker, then "Yes, start". Options are found by id, so
        their order may change; SMS answers by number, Telegram by the label."""
        say = (lambda text: self._sms(text)[1]) if channel == "sms" else self.telegram
        replies = say("I want to end my life")
        for wanted in ("text_worker", "start"):
            last = replies[-1]
            ids = [o.id for o in last.options]
            assert wanted in ids, (last.key, ids)
            index = ids.index(wanted)
            replies = say(str(index + 1) if channel == "sms" else last.options[index].label)
        assert replies[-1].key == "live_chat.waiting", [r.key for r in replies]
        return self.newest_chat()

    def to_telegram(self) -> list[str]:
        return [
            c["text"]
            for c in self.bot_api.called("sendMessage")
            if str(c.get("chat_id")) == str(TG_CHAT)
        ]

    def newest_chat(self) -> int:
        with self.site.engine.db.session() as session:
            found = session.execute(select(func.max(LiveChat.id))).scalar_one()
            session.commit()
        assert found is not None, "a chat was started"
        return int(found)


def eventually(check: Callable[[], bool], seconds: float = 15) -> None:
    """Wait for something another process does (a provider call), without a fixed sleep."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "it never happened"
        time.sleep(0.05)


@pytest.fixture
def channels(
    tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Channels]:
    with channels_site(tmp_path, always_staffed(content), monkeypatch) as found:
        yield found


@contextmanager
def channels_site(
    tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Channels]:
    """The app with SMS and Telegram on loopback fakes and its delivery round running."""
    url = f"sqlite:///{tmp_path / 'channels.db'}"
    upgrade(url)
    with fake_twilio() as twilio, FakeBotApiServer() as bot_api:
        # Twilio's client in the SMS sender talks to the fake on loopback.
        monkeypatch.setattr(sms_send, "TwilioHttpClient", lambda timeout: Loopback(twilio.port))
        settings = make_settings(
            tmp_path,
            url,
            dashboard_idle_minutes=3 * 24 * 60,  # the clock moves by days here
            twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token=TWILIO_TOKEN,
            twilio_from=SERVICE_NUMBER,
            public_base_url=BASE,
            telegram_bot_token=BOT_TOKEN,
            telegram_webhook_secret=SECRET,
            telegram_api_base_url=bot_api.base_url,
        )
        engine = Engine(settings=settings, content=content)
        add_staff(engine)
        clock = ShiftClock()
        app = app_with_clock(engine, clock)
        with served_with_lifespan(app) as base:
            app.state.chat_delivery.clock = clock  # its round keeps the dashboard's time
            yield Channels(Site(engine, clock, base), twilio, bot_api)
        engine.db.dispose()


def test_a_person_on_sms_waits_chats_both_ways_signals_danger_and_goes_back_to_the_menu(
    browser: Browser,  # noqa: F811
    channels: Channels,
) -> None:
    site = channels.site
    alice = open_as(browser, site, "alice")
    sue = open_as(browser, site, "sue")
    chat_id = channels.into_chat("sms")
    row = alice.locator(f'tr[data-chat="{chat_id}"]')
    expect(row).to_contain_text("thoughts of suicide or self-harm")
    assert PHONE not in alice.content() and "900123" not in alice.content()
    claim_in(alice, chat_id)
    channels.sms("are you there? I am in the bathroom")
    expect(alice.get_by_text("are you there? I am in the bathroom")).to_be_visible()

    send(alice, "I'm here. Keep the door locked if you can.")
    eventually(
        lambda: any("Keep the door locked" in r.body for r in channels.twilio.reached(PHONE))
    )
    line = alice.locator("li.worker").last
    expect(line.locator("[data-delivery]")).to_have_text("Sent")

    # The supervisor follows it live; a danger message shows on both pages at once.
    sue.goto(site.url(f"/dashboard/conversations/{chat_id}"))
    expect(sue.get_by_text("Keep the door locked")).to_be_visible()
    answer = channels.sms("he is breaking the door, he has a knife")
    assert any("999" in body for body in answer), "the emergency guidance first"
    for page in (alice, sue):
        expect(page.locator("li.person.signalled").last).to_contain_text("he has a knife")
    accessible(alice)

    channels.sms("MENU")
    expect(alice.locator("#chat-live")).to_contain_text("went back to the bot's menu")
    expect(alice.locator("#chat-status")).to_contain_text("Ended")
    send(alice, "Are you still there?")
    expect(alice.locator("#chat-problem")).to_contain_text("This chat has ended.")
    assert len(worker_rows(site.engine, chat_id)) == 1, "nothing more was queued"


def test_a_person_on_telegram_transfer_convert_and_exit_wipes_the_workers_lines(
    browser: Browser,  # noqa: F811
    channels: Channels,
) -> None:
    site = channels.site
    bob = open_as(browser, site, "bob")
    alice = open_as(browser, site, "alice")
    chat_id = channels.into_chat("telegram")
    expect(bob.locator(f'tr[data-chat="{chat_id}"]')).to_contain_text("Telegram")
    claim_in(bob, chat_id)
    channels.telegram("I can only type, he is in the next room")
    expect(bob.get_by_text("I can only type, he is in the next room")).to_be_visible()
    send(bob, "I'm here with you. You can type as much or as little as you like.")
    eventually(lambda: any("as much or as little" in t for t in channels.to_telegram()))
    expect(bob.locator("li.worker").last.locator("[data-delivery]")).to_have_text("Delivered")

    # Bob hands the chat to Alice, who can reply; Bob no longer can.
    bob.get_by_label("Transfer to").select_option("alice")
    bob.get_by_role("button", name="Transfer").click()
    alice.goto(site.url(f"/dashboard/conversations/{chat_id}"))
    expect(alice.get_by_text("I can only type, he is in the next room")).to_be_visible()
    send(alice, "Hello, I'm Alice, I'm taking over from my colleague.")
    eventually(lambda: any("taking over" in t for t in channels.to_telegram()))

    # EXIT: the chat ends at once for the worker, and the phone is wiped, the
    # workers' lines included.
    channels.telegram("EXIT")
    expect(alice.locator("#chat-live")).to_contain_text("The person sent EXIT")
    eventually(lambda: not channels.bot_api.alive[TG_CHAT])
    assert chat_row(site.engine, chat_id).status == "ended"
    accessible(alice)


def test_a_telegram_chat_becomes_a_callback_with_the_number_the_person_gave(
    browser: Browser,  # noqa: F811
    channels: Channels,
) -> None:
    site = channels.site
    alice = open_as(browser, site, "alice")
    chat_id = channels.into_chat("telegram")
    claim_in(alice, chat_id)
    channels.telegram("you can call me on 07700 900456 after 2pm")
    expect(alice.get_by_text("07700 900456 after 2pm")).to_be_visible()
    alice.get_by_role("button", name="Turn into a call-back request").click()
    expect(alice.locator("#chat-problem")).to_contain_text("Type the number the person gave")
    alice.get_by_label("Number the person gave as safe to call").fill("07700 900456")
    alice.get_by_role("button", name="Turn into a call-back request").click()
    expect(alice.locator("#chat-done")).to_contain_text("Turned into call-back request")
    reference = alice.locator("#chat-done").get_by_role("link").inner_text()
    with site.engine.db.session() as session:
        request = session.execute(
            select(CallbackRequest).where(CallbackRequest.reference == reference)
        ).scalar_one()
        session.commit()
    assert request.channel == "telegram" and "crisis" in request.safety_flags
    assert chat_row(site.engine, chat_id).request_id == request.id


# ----- out of hours: a message left, answered inside the person's safe times ---------
DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def staffed_only_tomorrow(content: Content) -> Content:
    """Workers online all day tomorrow (London) and never today: the person
    writes now, out of hours, and a worker answers a day on."""
    tomorrow = (datetime.now(LONDON) + timedelta(days=1)).weekday()
    hours = {DAY_CODES[tomorrow]: ["00:00", "23:59"]}
    closed = copy.deepcopy(content)
    closed.data["chat_hours"] = {**closed.data["chat_hours"], "chat_hours": hours}
    return closed


@pytest.fixture
def closed_channels(
    tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Channels]:
    with channels_site(tmp_path, staffed_only_tomorrow(content), monkeypatch) as found:
        yield found


def leave_message_by_sms(channels: Channels, text: str) -> list[Reply]:
    """Out of hours from the main menu: texting later is safe, any time workers
    are online, then the message. Options are found by id, answered by number."""
    replies = channels._sms("hello")[1]
    for wanted in ("yes", "me", "text_worker", "yes", "asap"):
        ids = [o.id for o in replies[-1].options]
        assert wanted in ids, (replies[-1].key, ids)
        replies = channels._sms(str(ids.index(wanted) + 1))[1]
    assert replies[-1].key == "live_chat.message", [r.key for r in replies]
    return channels._sms(text)[1]


def test_a_message_left_out_of_hours_is_answered_inside_the_safe_times_only(
    browser: Browser,  # noqa: F811
    closed_channels: Channels,
) -> None:
    channels = closed_channels
    site = channels.site
    replies = leave_message_by_sms(channels, "Please text me about getting my things back")
    assert replies[-1].key == "live_chat.left"
    chat_id = channels.newest_chat()
    found = chat_row(site.engine, chat_id)
    assert found.is_message and found.later_texts_ok and found.windows

    # A day on, inside the safe times, a worker finds it in Conversations.
    site.clock.advance(days=1)
    alice = open_as(browser, site, "alice")
    row = alice.locator(f'tr[data-chat="{chat_id}"]')
    expect(row).to_contain_text("Message left out of hours")
    assert PHONE not in alice.content()
    claim_in(alice, chat_id)
    expect(alice.get_by_text("Please text me about getting my things back")).to_be_visible()
    expect(alice.locator("dl")).to_contain_text("The person said texts later are safe")
    send(alice, "Hello, this is Alice. Is now a good time to text?")
    eventually(lambda: any("Is now a good time" in r.body for r in channels.twilio.reached(PHONE)))
    expect(alice.locator("li.worker").last.locator("[data-delivery]")).to_have_text("Sent")
    accessible(alice)
    # The person's reply reaches Alice (the live poll shows it), not the bot.
    said, replies = channels._sms("Yes, now is a good time")
    assert [r.key for r in replies] in ([], ["live_chat.added"]), said
    expect(alice.get_by_text("Yes, now is a good time")).to_be_visible()

    # Another day on, outside their safe times: the server refuses, nothing goes.
    site.clock.advance(days=1)
    alice.reload()
    expect(alice.locator("#reply-window")).to_contain_text("outside their safe times")
    send(alice, "Are you still there?")
    expect(alice.locator("#chat-problem")).to_contain_text("Nothing was sent")
    expect(alice.get_by_label("Your reply")).to_have_value("Are you still there?")
    assert len(worker_rows(site.engine, chat_id)) == 1
    assert len(channels.twilio.reached(PHONE)) == 1
