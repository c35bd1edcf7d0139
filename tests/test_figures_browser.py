"""The Figures page in a real browser (Debian's chromium, Playwright) as a
commissioner: it is where they land, axe-core finds no serious or critical
problem (axe-core comes offline from the `axe-playwright-python` package),
period and area are chosen with the keyboard, the print layout drops the
menus, and no request, number or audit page opens for them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from bot.content.model import Content
from bot.storage import figures
from tests.conftest import fresh_sqlite
from tests.test_dashboard_browser import Site, accessible, browser, sign_in, start_site

__all__ = ["browser"]  # the module-scoped chromium fixture, shared


@pytest.fixture
def site(tmp_path: Path, content: Content, migrated_sqlite: Path) -> Iterator[Site]:
    url = fresh_sqlite(migrated_sqlite, tmp_path / "figures.db")
    for made in start_site(url, tmp_path, content):
        from tests.dashboard_support import add_user

        add_user(made.engine, "carol", "commissioner")
        yield made


def seed(site: Site) -> None:
    """Some activity in 2026-Q4 (the dashboard clock is 24 November 2026)."""
    when = site.clock.now - timedelta(days=3)
    with site.engine.db.session() as session:
        figures.count(session, "conversation_started", when, n=40, channel="sms", language="en")
        figures.count(session, "conversation_started", when, n=3, channel="telegram", language="pl")
        figures.count(session, "emergency_guidance", when, n=6, channel="sms")
        for area, district, n in (("southend", "southend", 12), ("essex", "colchester", 9)):
            figures.count(
                session,
                "callback_requested",
                when,
                area=area,
                n=n,
                district=district,
                channel="sms",
                urgency="standard",
            )
            for minutes in (10, 40, 70, 200, 500, 20):
                figures.count(
                    session,
                    "wait_first_attempt",
                    when,
                    area=area,
                    minutes=minutes,
                    urgency="standard",
                )
        session.commit()


def test_commissioner_figures_page_is_accessible_and_closed_to_everything_else(
    browser: Browser, site: Site
) -> None:
    seed(site)
    reference = site.request()
    page = browser.new_context().new_page()
    sign_in(page, site, "carol")
    expect(page.get_by_role("heading", name="Figures: All areas, 2026-Q4")).to_be_visible()
    accessible(page)
    expect(page.get_by_role("img", name="Conversations started, by channel")).to_be_visible()
    table = page.get_by_role("table", name="Conversations started, by channel")
    expect(table.get_by_role("row", name="SMS withheld")).to_be_visible()
    expect(table.get_by_role("row", name="Telegram fewer than 5")).to_be_visible()
    expect(table.get_by_role("row", name="Total 43")).to_be_visible()

    # Choose Southend-on-Sea for the quarter with the keyboard.
    page.get_by_label("Area", exact=True).focus()
    page.keyboard.press("ArrowDown")  # All areas -> Southend-on-Sea
    page.get_by_role("button", name="Show").press("Enter")
    expect(page.get_by_role("heading", name="Figures: Southend-on-Sea, 2026-Q4")).to_be_visible()
    accessible(page)
    by_district = page.get_by_role("table", name="Call-backs requested, by district")
    expect(by_district.get_by_role("row", name="Total 13")).to_be_visible()  # 12 and one request

    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Account")).to_be_hidden()
    expect(page.get_by_role("button", name="Show")).to_be_hidden()
    page.emulate_media(media="screen")

    for path in (
        "/dashboard",
        f"/dashboard/requests/{reference}",
        f"/dashboard/requests/{reference}/audit",
        "/dashboard/audit.csv",
        "/dashboard/staff",
    ):
        response = page.goto(site.url(path))
        assert response is not None and response.status == 403, path
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
        assert reference not in page.content() and "+44" not in page.content()

    page.goto(site.url("/dashboard/figures"))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
