"""The web chat in a real browser: Debian's chromium driven by Playwright, on a
phone-sized and a desktop viewport.

Three servers run on loopback: the app (under uvicorn, its own SQLite file), a
partner's site on another port (an allowed origin: it embeds the chat with the
one-line script, and it also serves the neutral "exit" page), and a second
site that is not allowed. Nothing in these tests is timed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, expect
from sqlalchemy import select
from sqlmodel import col

from bot.content.model import Content
from bot.engine import Engine
from bot.storage.migrate import upgrade
from bot.storage.models import CallbackRequest, Conversation
from tests.browser_support import browser, violations
from tests.dashboard_support import served
from tests.webchat_support import chat_app, webchat_engine

PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
NEUTRAL_TITLE = "Weather forecast"

__all__ = ["browser"]  # the module-scoped chromium fixture (tests/browser_support.py)


class _Site(BaseHTTPRequestHandler):
    """A partner's site: a page with the chat's one line, and a neutral page."""

    chat = ""

    def do_GET(self) -> None:
        if self.path.startswith("/weather"):
            body = f"<!doctype html><html lang='en'><title>{NEUTRAL_TITLE}</title><h1>Sunny</h1>"
        elif self.path.startswith("/host"):
            body = (
                "<!doctype html><html lang='en'><head><title>Council services</title></head>"
                "<body><h1>Council services</h1><p>Bins, libraries and parking.</p>"
                f"<script src='{self.chat}/chat/widget.js' defer></script></body></html>"
            )
        else:
            body = "<!doctype html><html lang='en'><title>Start</title><h1>Start</h1>"
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        return


@dataclass
class Sites:
    engine: Engine
    chat: str
    partner: str
    stranger: str

    def conversation(self, session_id: str) -> Conversation | None:
        person = self.engine.vault.person_key("webchat", session_id)
        with self.engine.db.session() as session:
            row = session.execute(
                select(Conversation).where(col(Conversation.person_key) == person)
            ).scalar_one_or_none()
            session.commit()
        return row


def _site_server() -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory, content: Content) -> Iterator[Sites]:
    folder = tmp_path_factory.mktemp("webchat")
    url = f"sqlite:///{folder / 'webchat.db'}"
    upgrade(url)
    engine = webchat_engine(url, folder, content)
    partner_server, partner = _site_server()
    stranger_server, stranger = _site_server()
    app = chat_app(engine, allowed_origins=[partner], exit_url=partner + "/weather")
    with served(app) as chat:
        _Site.chat = chat
        yield Sites(engine, chat, partner, stranger)
    partner_server.shutdown()
    stranger_server.shutdown()
    engine.db.dispose()


@pytest.fixture(params=["phone", "desktop"])
def context(request: pytest.FixtureRequest, browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(**(PHONE if request.param == "phone" else DESKTOP))
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


class Tokens:
    """The token the page keeps in memory, read off its responses (the test's
    only way to find the conversation on the server)."""

    def __init__(self, page: Page) -> None:
        self.seen: list[str] = []
        self.history = 0  # the tab's history length while the chat was open
        page.on("response", self._read)

    def _read(self, response: Response) -> None:
        if response.url.endswith("/chat/api/messages") and response.ok:
            token = json.loads(response.body()).get("token")
            if token:
                self.seen.append(token)

    @property
    def session_id(self) -> str:
        assert self.seen, "the page never got a token"
        return self.seen[-1].split(".", 1)[0]


def bot_count(page: Page) -> int:
    return page.locator("#log .msg.bot").count()


def wait_for_answer(page: Page, before: int) -> None:
    # (the page's policy refuses evaluated strings, so no wait_for_function)
    expect(page.locator("#log .msg.bot").nth(before)).to_be_attached()
    expect(page.locator("#send")).to_be_enabled()


def choose(page: Page, label: str) -> None:
    before = bot_count(page)
    page.locator("#options").get_by_role("button", name=label, exact=True).click()
    wait_for_answer(page, before)


def type_message(page: Page, text: str) -> None:
    before = bot_count(page)
    page.get_by_label("Your message").fill(text)
    page.keyboard.press("Enter")
    wait_for_answer(page, before)


def accessible(page: Page) -> None:
    """No axe-core violations at all on the page as it is now."""
    found = violations(page)
    assert found == [], found


def nothing_left(context: BrowserContext, sites: Sites) -> None:
    """No cookie, no storage of any kind for the chat's origin."""
    assert context.cookies() == []
    probe = context.new_page()
    probe.goto(sites.chat + "/chat/static/chat.css")
    left = probe.evaluate(
        """async () => ({
            local: localStorage.length,
            session: sessionStorage.length,
            databases: (await indexedDB.databases()).length,
            caches: (await caches.keys()).length,
        })"""
    )
    probe.close()
    assert left == {"local": 0, "session": 0, "databases": 0, "caches": 0}


def to_callback_question(page: Page, content: Content) -> None:
    page.get_by_role("button", name=content.text("webchat.start", "en"), exact=True).click()
    expect(page.locator("#log .msg.bot").nth(1)).to_be_attached()
    choose(page, content.label("first_contact.safe_to_text", "yes", "en"))
    choose(page, content.label("who.ask", "me", "en"))
    choose(page, content.label("menus.me", "ask_call", "en"))
    choose(page, content.label("callback.consent", "yes", "en"))


# ----- a whole journey -------------------------------------------------------------------


def test_a_callback_request_from_start_to_reference(
    page: Page, context: BrowserContext, sites: Sites, content: Content
) -> None:
    tokens = Tokens(page)
    page.goto(sites.chat + "/chat")
    expect(page.get_by_role("button", name="Exit this page")).to_be_visible()
    to_callback_question(page, content)
    type_message(page, "07700 900123")
    expect(page.locator("#log .msg.you").last).to_have_text("You: 07700 900123")
    choose(page, content.label("callback.number_confirm", "yes", "en"))
    choose(page, content.label("callback.when", "asap", "en"))
    choose(page, content.label("triage.me_strangled", "skip_all", "en"))
    choose(page, content.label("callback.more", "send", "en"))
    choose(page, content.label("callback.summary", "looks_right", "en"))
    expect(page.locator("#log")).to_contain_text("Your reference is FD-")
    accessible(page)
    with sites.engine.db.session() as session:
        requests = session.execute(
            select(CallbackRequest).where(col(CallbackRequest.channel) == "webchat")
        ).scalars()
        mine = [
            r
            for r in requests
            if r.person_key == sites.engine.vault.person_key("webchat", tokens.session_id)
        ]
        session.commit()
    assert len(mine) == 1 and mine[0].status == "open"
    nothing_left(context, sites)


# ----- quick exit --------------------------------------------------------------------------


def _into_a_draft(page: Page, sites: Sites, content: Content) -> Tokens:
    tokens = Tokens(page)
    page.goto(sites.partner + "/start")
    page.goto(sites.chat + "/chat")
    to_callback_question(page, content)
    row = sites.conversation(tokens.session_id)
    assert row is not None and row.flow == "callback"
    tokens.history = page.evaluate("history.length")
    return tokens


def _left_cleanly(page: Page, context: BrowserContext, sites: Sites, tokens: Tokens) -> None:
    expect(page).to_have_title(NEUTRAL_TITLE)
    assert page.url == sites.partner + "/weather"
    # The chat's entry was replaced, not added to: back leads to the page before it.
    assert page.evaluate("history.length") == tokens.history
    page.go_back()
    expect(page).to_have_title("Start")
    nothing_left(context, sites)
    row = sites.conversation(tokens.session_id)
    assert row is not None and row.flow != "callback", "the server ended the chat like EXIT"


def test_the_exit_button_leaves_and_ends_the_chat(
    page: Page, context: BrowserContext, sites: Sites, content: Content
) -> None:
    tokens = _into_a_draft(page, sites, content)
    page.get_by_role("button", name="Exit this page").click()
    page.wait_for_url(sites.partner + "/weather")
    page.wait_for_load_state("load")
    _wait_for_exit_recorded(sites, tokens)
    _left_cleanly(page, context, sites, tokens)


def test_pressing_shift_three_times_leaves_and_ends_the_chat(
    page: Page, context: BrowserContext, sites: Sites, content: Content
) -> None:
    tokens = _into_a_draft(page, sites, content)
    page.get_by_label("Your message").focus()
    for _ in range(3):
        page.keyboard.press("Shift")
    page.wait_for_url(sites.partner + "/weather")
    _wait_for_exit_recorded(sites, tokens)
    _left_cleanly(page, context, sites, tokens)


def _wait_for_exit_recorded(sites: Sites, tokens: Tokens) -> None:
    """The exit request is sent as the page leaves (keepalive): wait until the
    server has handled it, without a clock (polls the database a bounded number
    of times through the browser-independent engine)."""
    for _ in range(200):
        row = sites.conversation(tokens.session_id)
        if row is not None and row.flow != "callback":
            return
        threading.Event().wait(0.05)


# ----- without JavaScript --------------------------------------------------------------------


def test_the_page_works_without_javascript(
    browser: Browser, sites: Sites, content: Content
) -> None:
    context = browser.new_context(java_script_enabled=False, **PHONE)
    page = context.new_page()
    page.goto(sites.chat + "/chat")
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#log")).to_contain_text(content.text("first_contact.safe_to_text", "en"))
    page.get_by_role(
        "button", name=content.label("first_contact.safe_to_text", "yes", "en")
    ).click()
    expect(page.locator("#log")).to_contain_text(content.text("who.ask", "en"))
    page.get_by_label("Your message").fill("for me")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#log")).to_contain_text(content.reply("menus.me", "en").rich[:25])
    expect(page.locator("#log")).to_contain_text("for me")
    page.get_by_role("button", name="Exit this page").click()
    expect(page).to_have_title(NEUTRAL_TITLE)
    assert context.cookies() == []
    context.close()


def test_the_no_script_page_is_accessible(page: Page, sites: Sites) -> None:
    # axe needs script, so the markup a form post renders is checked in a page with it.
    page.goto(sites.chat + "/chat")
    form_page = page.context.request.post(
        sites.chat + "/chat", form={"id": "axecheck0001", "command": "start", "lang": "en"}
    )
    page.set_content(form_page.text())
    accessible(page)


# ----- on a partner's site --------------------------------------------------------------------


def test_a_listed_site_embeds_the_chat_and_exit_leaves_it(
    page: Page, context: BrowserContext, sites: Sites, content: Content
) -> None:
    tokens = Tokens(page)
    page.goto(sites.partner + "/start")
    page.goto(sites.partner + "/host")
    page.get_by_role("button", name="Chat with us").click()
    frame = page.frame_locator("iframe[title='Chat with Front Door']")
    frame.get_by_role("button", name="Start", exact=True).click()
    expect(frame.locator("#log")).to_contain_text(content.text("first_contact.safe_to_text", "en"))
    frame.locator("#options").get_by_role(
        "button", name=content.label("first_contact.safe_to_text", "yes", "en"), exact=True
    ).click()
    expect(frame.locator("#log")).to_contain_text(content.text("who.ask", "en"))
    assert sites.conversation(tokens.session_id) is not None
    frame.get_by_role("button", name="Exit this page").click()
    page.wait_for_url(sites.partner + "/weather")
    expect(page).to_have_title(NEUTRAL_TITLE)
    for _ in range(200):
        row = sites.conversation(tokens.session_id)
        if row is not None and row.flow not in ("who",):
            break
        threading.Event().wait(0.05)
    row = sites.conversation(tokens.session_id)
    assert row is not None and row.flow != "who"
    nothing_left(context, sites)


def test_another_site_cannot_embed_the_chat(page: Page, sites: Sites) -> None:
    page.goto(sites.stranger + "/host")
    page.wait_for_load_state("load")
    page.wait_for_load_state("load")
    assert page.get_by_role("button", name="Chat with us").count() == 0
    # Framed by hand, the browser refuses to show it (frame-ancestors).
    page.evaluate(
        """(src) => new Promise((done) => {
            const frame = document.createElement('iframe');
            frame.title = 'chat';
            frame.addEventListener('load', () => done(true));
            frame.src = src;
            document.body.appendChild(frame);
        })""",
        sites.chat + "/chat?embed=1",
    )
    child = page.frames[1]
    assert not child.url.startswith(sites.chat) or child.locator("#composer").count() == 0
    assert all(frame.locator("#composer").count() == 0 for frame in page.frames)


# ----- right to left, and accessibility ----------------------------------------------------------


def test_urdu_and_arabic_read_right_to_left(page: Page, sites: Sites, content: Content) -> None:
    for locale in ("ar", "ur"):
        page.goto(sites.chat + f"/chat?lang={locale}")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.locator("html")).to_have_attribute("lang", locale)
        page.get_by_role("button", name=content.text("webchat.start", locale), exact=True).click()
        expect(page.locator("#log .msg.bot").nth(1)).to_be_attached()
        first = page.locator("#log .msg.bot").first
        expect(first).to_have_attribute("dir", "rtl")
        expect(first).to_have_attribute("lang", locale)
        expect(
            page.get_by_role("button", name=content.text("webchat.exit", locale))
        ).to_be_visible()
        accessible(page)


def test_the_page_is_accessible_before_and_during_a_chat(page: Page, sites: Sites) -> None:
    page.goto(sites.chat + "/chat")
    accessible(page)
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#log .msg.bot").nth(1)).to_be_attached()
    accessible(page)
    page.goto(sites.chat + "/chat?embed=1")
    accessible(page)


def test_shift_three_times_on_the_partner_page_leaves_it(
    page: Page, context: BrowserContext, sites: Sites, content: Content
) -> None:
    tokens = Tokens(page)
    page.goto(sites.partner + "/host")
    page.get_by_role("button", name="Chat with us").click()
    frame = page.frame_locator("iframe[title='Chat with Front Door']")
    frame.get_by_role("button", name="Start", exact=True).click()
    expect(frame.locator("#log")).to_contain_text(content.text("first_contact.safe_to_text", "en"))
    page.get_by_role("heading", name="Council services").click()  # focus on the partner's page
    for _ in range(3):
        page.keyboard.press("Shift")
    page.wait_for_url(sites.partner + "/weather")
    for _ in range(200):
        row = sites.conversation(tokens.session_id)
        if row is not None and row.state != "safe_to_text":
            break
        threading.Event().wait(0.05)
    row = sites.conversation(tokens.session_id)
    assert row is not None and row.state != "safe_to_text", "the chat ended on the server"
    nothing_left(context, sites)
