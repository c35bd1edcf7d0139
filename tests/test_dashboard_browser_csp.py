"""The browser protections in real chromium: the Content-Security-Policy holds on
every dashboard and simulator page with zero console errors, framing is refused,
and after sign-out neither the cache nor Back shows a code word, name or note.

Every page is watched for console errors, uncaught errors and CSP violation
events; a positive control proves the policy really blocks inline script and
eval, so "no violations" means the pages need neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.test_dashboard_browser import (  # noqa: F401 - fixtures used by name
    Site,
    browser,
    record,
    sign_in,
    site,
)

# Added before any page script runs; Playwright's init scripts are not subject to
# the page's policy, so this listener sees every violation the page causes.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""
CODE_WORD, NAME, NOTE = "bluebell", "Sam", "spoke to the neighbour first"


@dataclass
class Watched:
    """A browser context whose pages report every console error and page error."""

    context: BrowserContext
    problems: list[str] = field(default_factory=list)

    def page(self) -> Page:
        page = self.context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:  # noqa: F811
    context = browser.new_context()
    context.add_init_script(WATCH_VIOLATIONS)
    yield Watched(context)
    context.close()


def clean(page: Page, watched: Watched, where: str) -> None:
    """No CSP violation, console error or page error so far on this page."""
    violations: list[Any] = page.evaluate("window.__violations || []")
    assert violations == [], (where, violations)
    assert watched.problems == [], (where, watched.problems)


def visit(page: Page, watched: Watched, url: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, url
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    page.wait_for_load_state("networkidle")
    if status >= 400:  # chromium reports the page's own status; nothing else may appear
        expected = (
            "console error: Failed to load resource: "
            f"the server responded with a status of {status}"
        )
        watched.problems = [p for p in watched.problems if not p.startswith(expected)]
    clean(page, watched, url)


def test_the_policy_holds_on_every_dashboard_page(
    watched: Watched,
    site: Site,  # noqa: F811
) -> None:
    page = watched.page()
    visit(page, watched, site.url("/dashboard/login"))
    sign_in(page, site, "alice")
    expect(page.get_by_role("heading", name="Call-back queue")).to_be_visible()
    clean(page, watched, "queue")
    assert page.evaluate("htmx.config.allowEval") is False
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    # htmx still works under the policy: a new request arrives by polling.
    reference = site.request(priority=4)
    expect(page.locator(f'tr[data-reference="{reference}"]')).to_be_visible()
    clean(page, watched, "queue after polling")

    visit(page, watched, site.url(f"/dashboard/requests/{reference}"))
    page.get_by_role("button", name="Claim this request").click()
    expect(page.get_by_text("You hold this request.")).to_be_visible()
    page.get_by_role("button", name="Show the number").click()  # an htmx POST and swap
    expect(page.get_by_text("Number: +447700900123")).to_be_visible()
    record(page, "No answer", notes=NOTE)
    expect(page.get_by_text("Recorded: No answer.")).to_be_visible()
    page.wait_for_timeout(1500)  # at least one live poll of the request page
    clean(page, watched, "request page")
    assert page.evaluate("localStorage.length") == 0, "htmx must keep no page history"

    visit(page, watched, site.url("/dashboard?area=southend"))
    visit(page, watched, site.url(f"/dashboard/requests/{reference}/audit"), 403)
    visit(page, watched, site.url("/dashboard/requests/FD-NONE"), 404)
    visit(page, watched, site.url("/no-such-page"), 404)  # the calm page outside the dashboard
    sue = watched.page()
    sign_in(sue, site, "sue")
    visit(sue, watched, site.url(f"/dashboard/requests/{reference}/audit"))
    expect(sue.get_by_role("heading", name=f"Audit trail for {reference}")).to_be_visible()
    visit(sue, watched, site.url(f"/dashboard/requests/{reference}"))
    expect(sue.get_by_text(NOTE)).to_be_visible()


def test_the_policy_holds_on_the_simulator(watched: Watched, site: Site) -> None:  # noqa: F811
    page = watched.page()
    visit(page, watched, site.url("/simulator"))
    page.get_by_label("Your message").fill("hello")
    page.get_by_role("button", name="Send").click()
    telegram = page.locator("#telegram-thread")
    expect(telegram.locator(".message.bot").first).to_be_visible()
    expect(page.locator("#sms-thread .message.bot").first).to_be_visible()
    buttons = telegram.locator(".keyboard button")
    if buttons.count():
        before = telegram.locator(".message.bot").count()
        buttons.first.click()
        expect(telegram.locator(".message.bot")).not_to_have_count(before)
    clean(page, watched, "simulator")


def test_the_policy_really_blocks_inline_script_and_eval(
    watched: Watched,
    site: Site,  # noqa: F811
) -> None:
    """The positive control: without it, "zero violations" could mean no policy."""
    page = watched.page()
    visit(page, watched, site.url("/dashboard/login"))
    page.evaluate(
        """() => {
          const s = document.createElement("script");
          s.textContent = "window.inlineRan = true";
          document.body.append(s);
        }"""
    )
    assert page.evaluate("window.inlineRan === undefined")
    # A same-origin script (allowed) that tries eval: the page's own code cannot.
    page.route(
        site.url("/static/probe.js"),
        lambda route: route.fulfill(
            content_type="text/javascript",
            body="try { window.evalResult = eval('1 + 1'); }"
            " catch (e) { window.evalResult = e.name; }",
        ),
    )
    page.evaluate(
        """() => new Promise((done) => {
          const s = document.createElement("script");
          s.src = "/static/probe.js";
          s.onload = done;
          document.body.append(s);
        })"""
    )
    assert page.evaluate("window.evalResult") == "EvalError"
    violations = page.evaluate("window.__violations")
    assert any(v.startswith("script-src") for v in violations), violations


def test_framing_is_refused(browser: Browser, site: Site) -> None:  # noqa: F811
    context = browser.new_context()
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text))
    # Another origin (about:blank here) framing the login page.
    page.set_content(f'<iframe src="{site.url("/dashboard/login")}"></iframe>')
    page.wait_for_timeout(1000)
    # The site framing itself is refused too (frame-ancestors 'none', X-Frame-Options DENY).
    page.goto(site.url("/dashboard/login"))
    page.evaluate(
        """(url) => {
          const frame = document.createElement("iframe");
          frame.src = url;
          document.body.append(frame);
        }""",
        site.url("/dashboard/login"),
    )
    page.wait_for_timeout(1000)
    children = [frame for frame in page.frames if frame != page.main_frame]
    assert children, "the test frame was not added"
    for frame in children:
        assert frame.locator("input[name=password]").count() == 0, frame.url
    assert any("frame-ancestors" in text or "X-Frame-Options" in text for text in blocked), blocked
    context.close()


def test_after_sign_out_back_and_the_cache_show_nothing(browser: Browser, site: Site) -> None:  # noqa: F811
    reference = site.request()
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "alice")
    expect(page.get_by_role("heading", name="Call-back queue")).to_be_visible()
    page.goto(site.url(f"/dashboard/requests/{reference}"))
    page.get_by_role("button", name="Claim this request").click()
    record(page, "No answer", notes=NOTE)
    instructions = page.locator("section.instructions")
    expect(instructions).to_contain_text(CODE_WORD)
    expect(instructions).to_contain_text(NAME)
    expect(page.get_by_text(NOTE)).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    for _ in range(3):  # Back through the request page and the queue
        page.go_back()
        page.wait_for_load_state("networkidle")
        shown = page.content()
        assert CODE_WORD not in shown and NOTE not in shown, page.url
        assert "/dashboard/login" in page.url, page.url
        assert page.locator("section.instructions").count() == 0

    # Nothing was kept for the cache to replay: a request page served from the
    # browser's cache alone fails instead of showing the code word.
    offline = context.new_page()
    context.set_offline(True)
    try:
        offline.goto(site.url(f"/dashboard/requests/{reference}"))
    except Exception:  # noqa: BLE001 - a network error is what "not cached" looks like
        pass
    else:
        assert CODE_WORD not in offline.content()
    finally:
        context.set_offline(False)
    context.close()
