"""The dashboard in a real browser: Debian's chromium driven by Playwright.

The real app runs under uvicorn in a background thread with its own SQLite
database file (PostgreSQL for the claim race). The dashboard's clock is fixed
at a Tuesday 10:00 in London so "safe now" never depends on when tests run.
axe-core checks every page for serious or critical accessibility problems.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from bot.content.model import Content
from bot.engine import Engine
from bot.storage.requests import RequestStore
from tests.browser_support import accessible, add_staff, browser, quick_hashing, sign_in
from tests.conftest import clean, fresh_sqlite, make_settings
from tests.dashboard_support import (
    PASSWORD,
    Clock,
    app_with_clock,
    bot_store,
    make_request,
    served,
)

__all__ = ["browser"]  # the module-scoped chromium fixture (tests/browser_support.py)


@dataclass
class Site:
    engine: Engine
    clock: Clock
    base: str

    def url(self, path: str) -> str:
        return self.base + path

    def request(self, **answers: object) -> str:
        return make_request(self.engine, self.clock.now - timedelta(minutes=12), **answers)


def start_site(url: str, tmp_path: Path, content: Content) -> Iterator[Site]:
    with pytest.MonkeyPatch.context() as patch:
        quick_hashing(patch)
        engine = Engine(settings=make_settings(tmp_path, url), content=content)
        add_staff(engine)
        clock = Clock()
        with served(app_with_clock(engine, clock)) as base:
            yield Site(engine, clock, base)
        engine.db.dispose()


@pytest.fixture
def site(tmp_path: Path, content: Content, migrated_sqlite: Path) -> Iterator[Site]:
    """The app on its own SQLite database file."""
    url = fresh_sqlite(migrated_sqlite, tmp_path / "dashboard.db")
    yield from start_site(url, tmp_path, content)


@pytest.fixture
def pg_site(postgres_url: str, tmp_path: Path, content: Content) -> Iterator[Site]:
    clean(postgres_url)
    yield from start_site(postgres_url, tmp_path, content)


def open_as(browser: Browser, site: Site, name: str) -> Page:
    page = browser.new_context().new_page()
    sign_in(page, site, name)
    expect(page.get_by_role("heading", name="Call-back queue")).to_be_visible()
    return page


def test_sign_in_with_the_keyboard_only_then_lockout(browser: Browser, site: Site) -> None:
    page = browser.new_context().new_page()
    page.goto(site.url("/dashboard/login"))
    accessible(page)
    # The name field has focus on arrival; the rest is Tab, typing and Enter.
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Call-back queue")).to_be_visible()
    accessible(page)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus must be visible"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()

    for _ in range(site.engine.settings.login_max_failures):
        sign_in(page, site, "bob", "not the password")
        expect(page.get_by_role("alert")).to_have_text(
            "That name and password do not match. Please try again."
        )
    accessible(page)
    sign_in(page, site, "bob")
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    accessible(page)
    assert "/dashboard/login" in page.url


def test_the_queue_updates_live_without_reloading(browser: Browser, site: Site) -> None:
    page = open_as(browser, site, "alice")
    expect(page.get_by_text("No open requests.")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")
    reference = site.request(priority=4, language="ur")
    row = page.locator(f'tr[data-reference="{reference}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("Urgent")
    expect(row).to_contain_text("Urdu")
    expect(row).to_contain_text("Safe now until 12:00")
    assert page.evaluate("window.stillTheSamePage") is True, "the page was not reloaded"
    accessible(page)
    page.reload()  # the filter menus list the languages present when the page loads
    page.get_by_label("Language").select_option("ur")
    page.get_by_role("button", name="Filter").click()
    expect(row).to_be_visible()
    page.get_by_role("button", name="Take next").click()
    expect(page.get_by_role("heading", name=f"Request {reference}")).to_be_visible()
    expect(page.get_by_text("You hold this request.")).to_be_visible()


def test_two_handlers_race_to_claim_and_exactly_one_wins(browser: Browser, pg_site: Site) -> None:
    reference = pg_site.request()
    pages = [open_as(browser, pg_site, name) for name in ("alice", "bob")]
    for page in pages:
        page.goto(pg_site.url(f"/dashboard/requests/{reference}"))
        accessible(page)
    for page in pages:
        page.get_by_role("button", name="Claim this request").click(no_wait_after=True)
    outcomes = []
    for page in pages:
        won = page.get_by_text("You hold this request.")
        lost = page.get_by_text("Another handler claimed this request just now.")
        expect(won.or_(lost)).to_be_visible()
        outcomes.append(won.is_visible())
    assert sorted(outcomes) == [False, True]
    loser = pages[outcomes.index(False)]
    assert "+447700900123" not in loser.content()
    accessible(loser)


def claim_in(page: Page, site: Site, reference: str) -> None:
    page.goto(site.url(f"/dashboard/requests/{reference}"))
    page.get_by_role("button", name="Claim this request").click()
    expect(page.get_by_text("You hold this request.")).to_be_visible()


def record(page: Page, kind_label: str, **fields: str) -> None:
    page.get_by_role("radio", name=kind_label).check()
    if "outcome" in fields:
        page.get_by_label("Outcome (needed to close)").select_option(label=fields["outcome"])
    if "when" in fields:
        page.get_by_label("New time for a call back later").fill(fields["when"])
    if "notes" in fields:
        page.get_by_label("Notes (kept encrypted)").fill(fields["notes"])
    if "reason" in fields:
        page.get_by_label("Override reason").fill(fields["reason"])
    page.get_by_role("button", name="Record", exact=True).click()


def test_the_request_page_and_recording_every_kind_of_attempt(browser: Browser, site: Site) -> None:
    reference = site.request(voicemail=True, text_first=True, name="سارہ")
    page = open_as(browser, site, "alice")
    page.goto(site.url(f"/dashboard/requests/{reference}"))
    expect(page.get_by_text("The code word, the name to ask for and any")).to_be_visible()
    assert "+447700900123" not in page.content()
    accessible(page)
    claim_in(page, site, reference)
    instructions = page.locator("section.instructions")
    expect(instructions).to_contain_text('First ask: "Is it safe to talk right now?"')
    expect(instructions).to_contain_text("A voicemail is OK.")
    expect(instructions).to_contain_text("Call from a withheld number.")
    expect(instructions.get_by_text("سارہ")).to_have_attribute("dir", "auto")
    page.get_by_role("button", name="Show the number").click()
    expect(page.get_by_text("Number: +447700900123")).to_be_visible()
    accessible(page)

    for label in (
        "Reached them",
        "No answer",
        "Not safe to talk",
        "Someone else answered",
        "Wrong number",
        "Left a voicemail",
        "Send our text before calling",
    ):
        record(page, label, notes=f"tried: {label}")
        expect(page.get_by_role("status").filter(has_text="Recorded")).to_contain_text(
            f"Recorded: {label}."
        )
    expect(page.get_by_text("is queued and goes out shortly")).to_be_visible()
    record(page, "Call back later", when="2026-11-26T10:30")
    expect(page.get_by_text("Recorded: Call back later (new time).")).to_be_visible()
    expect(page.get_by_role("button", name="Claim this request")).to_be_visible()
    page.get_by_role("button", name="Claim this request").click()
    record(page, "Closed", outcome="Referred to IDVA or MARAC")
    expect(page.get_by_text("Recorded: Closed.")).to_be_visible()
    expect(page.get_by_text("This request is closed.")).to_be_visible()
    history = page.locator("section", has=page.get_by_role("heading", name="Attempts so far"))
    expect(history.locator("tbody tr")).to_have_count(9)
    expect(history).to_contain_text("tried: Wrong number")
    expect(history).to_contain_text("Referred to IDVA or MARAC")
    accessible(page)


def test_a_voicemail_is_refused_when_the_person_said_no(browser: Browser, site: Site) -> None:
    reference = site.request(voicemail=False)
    page = open_as(browser, site, "alice")
    claim_in(page, site, reference)
    expect(page.locator("section.instructions")).to_contain_text("DO NOT leave a voicemail.")
    record(page, "Left a voicemail")
    expect(page.get_by_role("alert")).to_contain_text(
        "Refused: they did not agree to a voicemail. Do not leave one."
    )
    accessible(page)
    record(page, "Call back later", when="2026-11-25T10:00")  # a Wednesday: not safe
    expect(page.get_by_role("alert")).to_contain_text("outside their safe times")
    history = page.locator("section", has=page.get_by_role("heading", name="Attempts so far"))
    expect(history).to_contain_text("None yet.")


def test_a_supervisor_overrides_with_a_written_reason(browser: Browser, site: Site) -> None:
    reference = site.request(text_first=False)
    page = open_as(browser, site, "sue")
    claim_in(page, site, reference)
    record(page, "Send our text before calling")
    expect(page.get_by_role("alert")).to_contain_text("they did not agree to a text")
    expect(page.get_by_role("alert")).to_contain_text("As a supervisor you may override")
    record(page, "Send our text", reason="They told the police a text is now safe")
    status = page.get_by_role("status").filter(has_text="Recorded")
    expect(status).to_contain_text("Recorded: Send our text before calling.")
    expect(status).to_contain_text("No text was sent: they did not agree to a text first.")
    expect(page.get_by_text("(supervisor override)")).to_be_visible()
    page.get_by_role("link", name=f"Audit trail for {reference}").click()
    expect(page.get_by_role("cell", name="Supervisor override")).to_be_visible()
    expect(page.get_by_text("They told the police a text is now safe")).to_be_visible()
    accessible(page)


def person_store(site: Site, person: str, session: Session) -> RequestStore:
    """The storage the bot uses for this person's messages."""
    return bot_store(
        site.engine, session, site.engine.vault.person_key("sms", person), site.clock.now
    )


def test_a_cancellation_in_the_bot_shows_at_once(browser: Browser, site: Site) -> None:
    reference = site.request(person="dana")
    page = open_as(browser, site, "alice")
    claim_in(page, site, reference)
    page.evaluate("window.stillTheSamePage = true")
    with site.engine.db.session() as session:
        store = person_store(site, "dana", session)
        store.change_times(False, [{"day": "fri", "start": "12:00", "end": "17:00"}])
        session.commit()
    expect(page.get_by_text("The person changed their safe times just now.")).to_be_visible()
    expect(page.get_by_text("Next safe Fri 12:00")).to_be_visible()
    with site.engine.db.session() as session:
        assert person_store(site, "dana", session).cancel()
        session.commit()
    expect(page.get_by_text("The person cancelled this request. Do not call.")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True
    accessible(page)


def test_other_pages_are_calm_and_accessible(browser: Browser, site: Site) -> None:
    page = open_as(browser, site, "alice")
    page.goto(site.url("/dashboard/requests/FD-NONE"))
    expect(page.get_by_text("There is no request with that reference.")).to_be_visible()
    accessible(page)
    reference = site.request()
    page.goto(site.url(f"/dashboard/requests/{reference}/audit"))
    expect(page.get_by_text("Only supervisors can open this page.")).to_be_visible()
    accessible(page)


@pytest.mark.parametrize("width", [768, 1280])
def test_pages_fit_a_tablet_and_a_laptop(browser: Browser, site: Site, width: int) -> None:
    reference = site.request(language="ur", name="سارا")
    site.request(person="other", area="thurrock", priority=5)
    page = browser.new_context(viewport={"width": width, "height": 1000}).new_page()
    sign_in(page, site, "alice")
    expect(page.locator(f'tr[data-reference="{reference}"]')).to_be_visible()
    for path in ("/dashboard", f"/dashboard/requests/{reference}"):
        page.goto(site.url(path))
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways at {width}px"
        accessible(page)
