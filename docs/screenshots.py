"""Screenshots of the dashboard for the README, made from synthetic requests only.

Run with `make screenshots`: it builds a throwaway SQLite database, adds two
staff accounts and a few invented requests (numbers from Ofcom's drama
range), serves the real app, and saves the queue and a request page as PNG
files in docs/ using Debian's chromium.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from bot.engine import Engine
from bot.settings import Settings
from bot.storage.migrate import upgrade
from tests.dashboard_support import PASSWORD, Clock, add_user, app_with_clock, make_request, served

DOCS = Path(__file__).resolve().parent
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PEOPLE = [
    # (minutes waiting, priority, answers)
    (95, 6, {"language": "en", "interpreter": False, "area": "basildon", "route": "me"}),
    (40, 4, {"language": "ur", "interpreter": True, "area": "thurrock", "name": "سارا"}),
    (
        25,
        3,
        {
            "language": "pl",
            "area": "southend",
            "windows": [{"day": "wed", "start": "12:00", "end": "17:00"}],
        },
    ),
    (180, 0, {"language": "en", "area": "colchester", "route": "someone_else", "asap": True}),
    (12, 0, {"language": "en", "area": "chelmsford", "route": "own_behaviour"}),
    (5, 0, {"language": "en", "area": None, "route": "professional", "handler_gender": None}),
]


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/screens.db"
        upgrade(url)
        settings = Settings(var_dir=Path(folder), database_url=url, frontdoor_secret="screens")
        engine = Engine(settings=settings)
        add_user(engine, "alex", "handler")
        clock = Clock()
        references = []
        for index, (waiting, priority, answers) in enumerate(PEOPLE):
            route = answers.pop("route", "me")
            answers.setdefault("interpreter", False)
            references.append(
                make_request(
                    engine,
                    clock.now - timedelta(minutes=waiting),
                    priority=priority,
                    route=route,
                    person=f"synthetic-{index}",
                    phone=f"+4477009001{index:02d}",
                    **answers,
                )
            )
        with served(app_with_clock(engine, clock)) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
            page.goto(base + "/dashboard/login")
            page.get_by_label("Name").fill("alex")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="Call-back queue").wait_for()
            page.screenshot(path=DOCS / "dashboard-queue.png", full_page=True)
            page.goto(base + f"/dashboard/requests/{references[1]}")
            page.get_by_role("button", name="Claim this request").click()
            page.get_by_role("button", name="Show the number").click()
            page.get_by_text("Number:").wait_for()
            page.screenshot(path=DOCS / "dashboard-request.png", full_page=True)
            browser.close()
        engine.db.dispose()
    print("saved docs/dashboard-queue.png and docs/dashboard-request.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
