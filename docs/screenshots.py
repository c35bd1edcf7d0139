"""Screenshots of the dashboard for the README, made from synthetic requests only.

Run with `make screenshots`: it builds a throwaway SQLite database, adds two
staff accounts, a few invented requests (numbers from Ofcom's drama range)
and invented live chats, serves the real app, and saves the queue, a request
page, the conversations list, a chat page and the Figures page (from invented
counts) as PNG files in docs/ using
Debian's chromium.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.figures_bench import seed as seed_figures
from bot.engine import Engine
from bot.settings import Settings
from bot.storage.migrate import upgrade
from tests.chat_support import person_says, start_chat
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

CHATS = [
    # (minutes waiting, language, safety codes, first message)
    (7, "en", ("danger_now",), "he is shouting downstairs, I am scared to go down"),
    (3, "pl", (), "Dzien dobry, czy moge porozmawiac z kims?"),
    (2, "en", (), "I don't know if this counts as abuse"),
    (1, "ar", ("child",), "عمري ١٥ سنة وأبي يضرب أمي"),
]


def add_chats(engine: Engine, clock: Clock) -> list[int]:
    """Invented chats, as the bot starts them; the first one gets a conversation."""
    ids = []
    for index, (waiting, locale, signals, first) in enumerate(CHATS):
        ids.append(
            start_chat(
                engine,
                clock.now - timedelta(minutes=waiting),
                address=f"+4477009002{index:02d}",
                locale=locale,
                first=first,
                signals=signals,
            )
        )
    return ids


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/screens.db"
        upgrade(url)
        settings = Settings(var_dir=Path(folder), database_url=url, frontdoor_secret="screens")
        engine = Engine(settings=settings)
        add_user(engine, "alex", "handler")
        add_user(engine, "casey", "commissioner")
        seed_figures(engine, 20_000)  # invented counts only (bench/figures_bench.py)
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
        chat_ids = add_chats(engine, clock)
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
            page.goto(base + "/dashboard/conversations")
            page.get_by_role("heading", name="Conversations", exact=True).wait_for()
            page.screenshot(path=DOCS / "dashboard-conversations.png", full_page=True)
            page.get_by_role("button", name=f"Claim chat {chat_ids[0]}").click()
            page.get_by_label("Your reply").fill(
                "I'm here with you. If you are in danger now, please call 999. "
                "Are you somewhere you can shut a door?"
            )
            page.get_by_role("button", name="Send", exact=True).click()
            page.locator("#chat-sent").wait_for()
            person_says(
                engine, chat_ids[0], "yes, I'm in the bathroom with the door locked", clock.now
            )
            page.get_by_text("in the bathroom with the door locked").wait_for()
            page.get_by_label("Saved reply (in English)").select_option("saved_replies.still_here")
            page.screenshot(path=DOCS / "dashboard-chat.png", full_page=True)
            figures = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="en-GB")
            figures.goto(base + "/dashboard/login")
            figures.get_by_label("Name").fill("casey")
            figures.get_by_label("Password").fill(PASSWORD)
            figures.get_by_role("button", name="Sign in").click()
            figures.goto(base + "/dashboard/figures?period=2026-Q3&area=all")
            figures.get_by_role("heading", name="Figures: All areas, 2026-Q3").wait_for()
            figures.screenshot(path=DOCS / "dashboard-figures.png")
            browser.close()
        engine.db.dispose()
    print(
        "saved docs/dashboard-queue.png, docs/dashboard-request.png,"
        " docs/dashboard-conversations.png, docs/dashboard-chat.png"
        " and docs/dashboard-figures.png"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
