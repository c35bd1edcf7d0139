"""`make bench`: messages and SMS segments from "hello" to a queued callback
request, per shipped language: the fewest (every optional question skipped)
and the full journey (every question answered). Figures only.

A message is one text the person sends; segments are those of every reply,
as stored for SMS (GSM-7 or UCS-2). Answers are typed as option numbers, so
the same journey works in every language.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bot.channels.render import sms_text
from bot.content.model import Content
from bot.engine import Engine
from bot.settings import Settings
from bot.storage.migrate import upgrade
from bot.text import sms_segments
from bot.types import Inbound

# A Tuesday, 10:00 in London: inside the callback hours.
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def _menu_number(content: Content) -> str:
    """The number of "Ask for a call back" on the "for me" menu."""
    options = [o.goto for o in content.entry("menus.me").options]
    return str(options.index("flow:callback") + 1)


def journey(content: Content, full: bool) -> list[str]:
    """What a person types, from hello to the confirmation."""
    start = ["hello", "1", "1", _menu_number(content), "1", "1"]  # consent, this number
    if not full:
        return [*start, "1", "3", "2", "1"]  # asap, skip triage, send now, that's right
    triage = ["2"] * sum(1 for k in content.entries if k.startswith("triage.me_"))
    practical = ["2", "1", "1", "2", "bluebell", "pizza", "Sam", "1", "1", "1", "3"]
    return [
        *start,
        "2",
        "mon wed",
        "1",
        *triage,
        "1",
        *practical,
        "Colchester",
        "call after 3",
        "1",
    ]


def walk(engine: Engine, texts: list[str], address: str, locale: str) -> tuple[int, int, str]:
    """(messages, segments, key of the last reply) for one journey."""
    segments, last = 0, ""
    for step, text in enumerate(texts):
        replies = engine.handle(
            Inbound(
                "sms",
                address,
                text,
                f"{address}-{step}",
                TUESDAY_10,
                address_is_phone=True,
                locale_hint=locale,
            )
        )
        segments += sum(sms_segments(sms_text(r))[1] for r in replies)
        last = replies[-1].key if replies else ""
    return len(texts), segments, last


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="frontdoor-callback-bench-"))
    settings = Settings(var_dir=var, database_url="", frontdoor_secret="bench-secret")
    upgrade(settings.sqlalchemy_url)
    engine = Engine(settings=settings)
    print("Hello to a queued callback request (SMS): messages sent / segments received")
    print(f"{'language':<10}{'fewest':>16}{'full':>16}")
    for n, locale in enumerate(settings.locales):
        figures = []
        for full in (False, True):
            address = f"+4479110{n:02d}{int(full)}000"
            sent, segments, last = walk(engine, journey(engine.content, full), address, locale)
            ok = "" if last == "callback.confirmed" else f" (ended at {last})"
            figures.append(f"{sent} / {segments}{ok}")
        print(f"{locale:<10}{figures[0]:>16}{figures[1]:>16}")


if __name__ == "__main__":
    main()
