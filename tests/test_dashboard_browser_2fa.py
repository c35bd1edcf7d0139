"""Two-factor sign-in in a real browser (Debian's chromium, Playwright): the code
step, a recovery code, and a supervisor resetting a colleague who then enrols
again from the QR page. The dashboard's clock is fixed, so codes are computed
for it; axe-core checks each new page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from bot.content.model import Content
from bot.dashboard import auth, second_factor
from tests.conftest import fresh_sqlite
from tests.test_dashboard_browser import Site, accessible, browser, sign_in, start_site

__all__ = ["browser"]  # the chromium fixture, shared with the other browser tests


@pytest.fixture
def site(tmp_path: Path, content: Content, migrated_sqlite: Path) -> Iterator[Site]:
    url = fresh_sqlite(migrated_sqlite, tmp_path / "dashboard.db")
    yield from start_site(url, tmp_path, content)


def enrol(site: Site, name: str) -> second_factor.Enrolment:
    with site.engine.db.session() as session:
        user = auth.find_user(session, name)
        enrolment = second_factor.enrol(session, site.engine.vault, user)
        session.commit()
    return enrolment


def give_code(page: Page, code: str) -> None:
    expect(page.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    page.get_by_label("The 6-digit code from your authenticator app").fill(code)
    page.get_by_role("button", name="Continue").click()


def queue_shown(page: Page) -> None:
    expect(page.get_by_role("heading", name="Call-back queue")).to_be_visible()


def test_sign_in_with_a_code_then_a_recovery_code(browser: Browser, site: Site) -> None:
    alice = enrol(site, "alice")
    page = browser.new_context().new_page()
    sign_in(page, site, "alice")
    accessible(page)
    give_code(
        page, "000000" if pyotp.TOTP(alice.secret).at(site.clock.now) != "000000" else "111111"
    )
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    give_code(page, pyotp.TOTP(alice.secret).at(site.clock.now))
    queue_shown(page)
    page.get_by_role("button", name="Sign out").click()
    # The same code again (same window) is refused; a recovery code works once.
    sign_in(page, site, "alice")
    give_code(page, pyotp.TOTP(alice.secret).at(site.clock.now))
    expect(page.get_by_role("alert")).to_contain_text("already used")
    give_code(page, alice.codes[0])
    queue_shown(page)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, site, "alice")
    give_code(page, alice.codes[0])
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")


def test_a_supervisor_resets_a_colleague_who_enrols_again(browser: Browser, site: Site) -> None:
    alice = enrol(site, "alice")
    sue = enrol(site, "sue")
    page = browser.new_context().new_page()
    sign_in(page, site, "sue")
    give_code(page, pyotp.TOTP(sue.secret).at(site.clock.now))
    queue_shown(page)
    page.get_by_role("link", name="Staff accounts").click()
    expect(page.get_by_role("heading", name="Staff accounts")).to_be_visible()
    accessible(page)
    expect(page.get_by_role("button", name="Reset second factor of sue")).to_have_count(0)
    page.get_by_role("button", name="Reset second factor of alice").click()
    expect(page.get_by_role("status")).to_contain_text("The second factor of alice was reset")

    colleague = browser.new_context().new_page()
    errors: list[str] = []  # the inline QR code must hold under the CSP
    colleague.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    colleague.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(colleague, site, "alice")
    expect(colleague.get_by_role("heading", name="Set up your sign-in code")).to_be_visible()
    expect(colleague.locator("figure.qr svg")).to_be_visible()
    accessible(colleague)
    key = colleague.locator("code.secret").inner_text().strip()
    assert key != alice.secret
    colleague.get_by_label("The 6-digit code your app now shows").fill(
        pyotp.TOTP(key).at(site.clock.now)
    )
    colleague.get_by_role("button", name="Finish setting up").click()
    expect(colleague.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(colleague.locator("ul.codes li")).to_have_count(second_factor.RECOVERY_CODES)
    accessible(colleague)
    colleague.get_by_role("link", name="Continue to the queue").click()
    queue_shown(colleague)
    assert errors == []
