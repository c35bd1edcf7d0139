"""What every browser test shares: Debian's chromium under Playwright (one per
test module), axe-core's verdict on a page, and the dashboard's staff signing in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from bot.dashboard import second_factor
from bot.engine import Engine
from tests.dashboard_support import PASSWORD, QUICK_HASHER, add_user, quick_passwords

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Axe()
STAFF = (("alice", "handler"), ("bob", "handler"), ("sue", "supervisor"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium for a test module; each test opens its own contexts."""
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def violations(page: Page, impacts: tuple[str, ...] | None = None) -> list[tuple]:
    """axe-core's violations on the page as it is now (only `impacts`, if given)."""
    results = AXE.run(page)
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if impacts is None or v["impact"] in impacts
    ]


def accessible(page: Page) -> None:
    """Zero serious or critical axe-core violations on the page as it is now."""
    bad = violations(page, ("serious", "critical"))
    assert bad == [], bad


class HasUrl(Protocol):
    def url(self, path: str) -> str: ...


def quick_hashing(patch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 for passwords and recovery codes: these tests are about pages,
    and the real costs (a third of a second a hash here) made a 2FA test 30 s."""
    quick_passwords(patch)
    patch.setattr(second_factor, "HASHER", QUICK_HASHER)


def add_staff(engine: Engine) -> None:
    """Two handlers (alice, bob) and a supervisor (sue), all with PASSWORD."""
    for name, role in STAFF:
        add_user(engine, name, role)


def sign_in(page: Page, site: HasUrl, name: str, password: str = PASSWORD) -> None:
    """The sign-in form, filled and sent (what follows is the caller's to check)."""
    page.goto(site.url("/dashboard/login"))
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
