"""`make bench`: the engine's cost per message against a bare storage round trip.

Drives N full callback journeys (greeting to confirmed request) through the
engine on SQLite, then, in the same run and on the same database layer, N
times the bare round trip each message needs at least: read the
conversation, insert the message id, update the conversation, commit.
Prints messages/s, p50 and p99 for both, the ratio of their means (target:
the engine costs at most 1.5x the bare round trip), and SMS segments per
full callback journey for each shipped locale. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.channels.render import sms_text
from bot.engine import Engine
from bot.settings import Settings
from bot.storage.binding import conversation_slots
from bot.storage.crypto import Vault
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import Conversation, HandledMessage
from bot.text import sms_segments
from bot.types import Inbound

# A full callback journey as a person on SMS would type it: consent, this
# number, Mon and Wed mornings, five triage answers, then every practical
# question (bench/callback_bench.py prints the figures per language).
JOURNEY = [
    "hi",
    "1",
    "1",
    "menu",
    "5",
    "1",
    "1",
    "2",
    "mon wed",
    "1",
    "no",
    "yes",
    "no",
    "no",
    "2",
    "1",
    "no",
    "yes",
    "yes",
    "2",
    "bluebell",
    "pizza",
    "Sam",
    "1",
    "3",
    "1",
    "3",
    "Colchester",
    "call after 3",
    "1",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, seconds: list[float]) -> float:
    mean = statistics.fmean(seconds)
    print(
        f"{name:<22} {len(seconds):>6} msgs  {1 / mean:>8.0f} msg/s  "
        f"p50 {percentile(seconds, 0.50) * 1e3:6.3f} ms  "
        f"p99 {percentile(seconds, 0.99) * 1e3:6.3f} ms"
    )
    return mean


def run_journeys(engine: Engine, journeys: int, locale_hint: str = "en") -> tuple[list[float], int]:
    timings: list[float] = []
    segments = 0
    for n in range(journeys):
        address = f"{locale_hint}-{n}"
        for step, text in enumerate(JOURNEY):
            inbound = Inbound(
                "sms",
                address,
                text,
                f"{locale_hint}-{n}-{step}",
                datetime.now(UTC),
                address_is_phone=True,
                locale_hint=locale_hint,
            )
            started = time.perf_counter()
            replies = engine.handle(inbound)
            timings.append(time.perf_counter() - started)
            segments += sum(sms_segments(sms_text(r))[1] for r in replies)
    return timings, segments


def check_journey_completes(engine: Engine) -> str:
    """The bench is meaningless unless the journey really ends in a confirmed request."""
    replies = []
    for step, text in enumerate(JOURNEY):
        replies = engine.handle(
            Inbound("sms", "+447911000000", text, f"probe-{step}", address_is_phone=True)
        )
    return replies[-1].key


def bare_round_trips(db: Database, vault: Vault, count: int) -> list[float]:
    now = datetime.now(UTC)
    with db.session() as session:
        for n in range(count // len(JOURNEY) + 1):
            db.lock_conversation(
                session,
                f"bare-{n}",
                {
                    "channel": "sms",
                    "flow": "first_contact",
                    "state": "new",
                    "slots_enc": vault.seal({}, conversation_slots(f"bare-{n}")),
                    "locale": "en",
                    "last_activity": now,
                    "created_at": now,
                },
            )
        session.commit()
    timings = []
    for i in range(count):
        person = f"bare-{i // len(JOURNEY)}"
        started = time.perf_counter()
        with db.session() as session:
            conversation = session.execute(
                select(Conversation).where(Conversation.person_key == person)
            ).scalar_one()
            session.add(
                HandledMessage(
                    channel="bare",
                    provider_id=f"b{i}",
                    conversation_id=conversation.id,
                    replies_enc=b"-",
                    handled_at=now,
                )
            )
            conversation.last_activity = datetime.now(UTC)
            session.add(conversation)
            session.commit()
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--journeys", type=int, default=200)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="frontdoor-bench-"))
    settings = Settings(var_dir=var, database_url="", frontdoor_secret="bench-secret")
    upgrade(settings.sqlalchemy_url)
    engine = Engine(settings=settings)
    print(f"journey of {len(JOURNEY)} messages ends at: {check_journey_completes(engine)}")
    run_journeys(engine, 5, "warm")  # warm caches and the SQLite file
    timings, _ = run_journeys(engine, args.journeys)
    bare = bare_round_trips(engine.db, engine.vault, len(timings))
    print(f"SQLite at {settings.sqlalchemy_url}")
    engine_mean = report("engine (full journey)", timings)
    bare_mean = report("bare storage trip", bare)
    print(f"ratio engine/bare (mean per message): {engine_mean / bare_mean:.2f}x  (target <= 1.5x)")
    print("SMS segments per full callback journey:")
    for locale in settings.locales:
        _, segments = run_journeys(engine, 1, locale)
        print(f"  {locale}: {segments}")


if __name__ == "__main__":
    main()
