"""`make bench`: the Figures page for a year of synthetic activity (100,000
contacts) on SQLite, through the real app and a signed-in supervisor.
Target: under 300 ms. Figures only; nothing here is a test.

The activity is made through `bot.storage.figures.count`, one transaction a
day, with the same events and dimensions the bot and the dashboard count.
"""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from bot.dashboard import auth
from bot.engine import Engine
from bot.settings import Settings
from bot.storage import figures
from bot.storage.migrate import upgrade
from bot.web.app import create_app

CONTACTS = 100_000
YEAR = 2026
PASSWORD = "a bench password, long enough"
DISTRICTS = ("southend", "thurrock", "basildon", "chelmsford", "colchester", "harlow", "tendring")
LANGUAGES = ("en",) * 12 + ("pl", "ro", "lt", "pt", "bg", "tr", "uk", "ur", "ar")
OUTCOMES = (
    "support_given",
    "referred_idva_marac",
    "refuge",
    "community_support",
    "children_young_people",
    "perpetrator_programme",
    "signposted",
    "declined",
)


def seed(engine: Engine, contacts: int = CONTACTS) -> None:
    """A year of activity, each contact on a random day and minute of the year.
    Equal counts of a day are added together (`n=`) so seeding takes seconds;
    the rows stored are the same as one call per event would make."""
    chooser = random.Random(14)  # noqa: S311 - made-up activity, not secrets
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    per_day = contacts // 365
    for day in range(365):
        calls: Counter[tuple[str, datetime, float | None, tuple[tuple[str, str], ...]]] = Counter()
        for _ in range(per_day + (1 if day < contacts % 365 else 0)):
            when = start + timedelta(days=day, minutes=chooser.randrange(24 * 60))
            hour = when.replace(minute=0)
            for event, minutes, dimensions in _contact(chooser):
                calls[(event, hour, minutes, tuple(sorted(dimensions.items())))] += 1
        with engine.db.session() as session:
            for (event, when, minutes, dimensions), n in calls.items():
                figures.count(session, event, when, minutes=minutes, n=n, **dict(dimensions))
            session.commit()


def _contact(chooser: random.Random) -> list[tuple[str, float | None, dict[str, str]]]:
    """The events of one contact: (event, minutes, dimensions)."""
    channel = chooser.choice(("sms", "sms", "telegram"))
    said = [
        ("conversation_started", None, {"channel": channel, "language": chooser.choice(LANGUAGES)})
    ]
    if chooser.random() < 0.6:
        route = chooser.choice(("me", "me", "someone_else", "own_behaviour", "professional"))
        said.append(("route_chosen", None, {"channel": channel, "route": route}))
    if chooser.random() < 0.05:
        said.append(("emergency_guidance", None, {"channel": channel}))
    if chooser.random() < 0.03:
        signal = chooser.choice(("crisis", "child", "harm_risk"))
        said.append(("safety_reply", None, {"channel": channel, "signal": signal}))
    if chooser.random() < 0.08:
        said.append(("quick_exit", None, {"channel": channel}))
    if chooser.random() < 0.25:
        district = chooser.choice(DISTRICTS)
        urgency = "urgent" if chooser.random() < 0.3 else "standard"
        where = {"area": figures.commissioning_area(district), "channel": channel}
        request = {"urgency": urgency, "district": district, "route": "me", "language": "en"}
        said.append(("callback_requested", None, {**where, **request}))
        # Whole minutes, as bucket edges are: the same buckets as exact times.
        first = float(round(chooser.expovariate(1 / 90)))
        said.append(("wait_first_attempt", first, {**where, "urgency": urgency}))
        if urgency == "urgent":
            said.append(("urgent_same_day", None, {**where, "met": "yes" if first < 600 else "no"}))
        if chooser.random() < 0.7:
            reached = first + round(chooser.expovariate(1 / 120))
            said.append(("wait_reached", reached, {**where, "urgency": urgency}))
            said.append(
                ("callback_result", None, {**where, "result": "reached", "urgency": urgency})
            )
            outcome = chooser.choice(OUTCOMES)
            said.append(("outcome", None, {**where, "outcome": outcome, "urgency": urgency}))
            if chooser.random() < 0.4:
                gender = chooser.choice(("woman", "man"))
                age = chooser.choice(("age_18_24", "age_25_34", "age_35_44"))
                said.append(("equality", None, {"gender": gender, "age_band": age}))
        else:
            result = chooser.choice(("not_reached", "cancelled"))
            said.append(("callback_result", None, {**where, "result": result, "urgency": urgency}))
    return said


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'figures.db'}"
        upgrade(url)
        settings = Settings(
            var_dir=Path(tmp), database_url=url, frontdoor_secret="bench-secret-not-for-production"
        )
        engine = Engine(settings=settings)
        began = time.perf_counter()
        seed(engine)
        seeded = time.perf_counter() - began
        with engine.db.session() as session:
            auth.add_user(session, "sue", "supervisor", PASSWORD, datetime.now(UTC))
            session.commit()
        client = TestClient(create_app(engine))
        login = client.get("/dashboard/login")
        token = re.search(r'name="csrf_token" value="([^"]*)"', login.text)
        assert token is not None
        client.post(
            "/dashboard/login",
            data={"name": "sue", "password": PASSWORD, "csrf_token": token.group(1)},
        )
        print(f"figures: a year of {CONTACTS:,} contacts seeded in {seeded:.1f} s")
        for label, query in (
            ("year, all areas", f"period={YEAR}&area=all"),
            ("quarter, Essex", f"period={YEAR}-Q3&area=essex"),
            ("month, Southend", f"period={YEAR}-07&area=southend"),
        ):
            times = []
            for _ in range(15):
                started = time.perf_counter()
                page = client.get(f"/dashboard/figures?{query}")
                times.append((time.perf_counter() - started) * 1000)
                assert page.status_code == 200, page.status_code
            times.sort()
            print(
                f"figures page, {label}: median {statistics.median(times):.0f} ms, "
                f"slowest {times[-1]:.0f} ms (target under 300 ms)"
            )
        engine.db.dispose()


if __name__ == "__main__":
    main()
