"""`make bench`, live chat: with 20 chats open, how long until a worker can read
a person's line, and how long until a worker's line reaches the provider.

1. A person's message, from the signed POST to /sms/inbound (the whole app,
   in process) to the line being readable by `chats.messages()` (what the
   worker's page reads).
2. A worker's line, from `add_worker_message` (stored, queued, committed) to
   the provider's send being called by the web app's quick round
   (bot/web/chat_delivery.py): once woken by the commit (`wake`, as the
   dashboard does), and once found by its poll alone (the safety net).

SQLite under a temporary folder; the provider is an in-process sender that
notes when it is called. Prints p50 and p95; figures only, no assertions.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from bench.engine_bench import percentile
from bench.http_support import bench_settings, signed_sms
from bot.engine import Engine
from bot.outbox import Sent
from bot.storage import binding, chats
from bot.storage.db import id_of
from bot.storage.models import LiveChat
from bot.web.app import create_app
from bot.web.chat_delivery import ChatDelivery

CHATS = 20
ROUNDS = 5  # each round: one line from every person, one line to every person


class NotingSender:
    """A provider that notes when each text reached it."""

    channel = "sms"

    def __init__(self) -> None:
        self.called: dict[str, float] = {}

    async def send(self, address: str, text: str) -> Sent:
        self.called[text] = time.perf_counter()
        return Sent(provider_id=f"SM{len(self.called):032x}", segments=1, encoding="GSM-7")


def _open_chats(engine: Engine, numbers: list[str], now: datetime) -> dict[str, int]:
    """20 chats, claimed by one worker each, as the dashboard would leave them."""
    ids = {}
    with engine.db.session() as session:
        for n, number in enumerate(numbers):
            chat = chats.start_chat(
                session,
                engine.vault,
                person_key=engine.vault.person_key("sms", number),
                channel="sms",
                address=number,
                locale="en",
                now=now,
            )
            chats.claim_chat(session, id_of(chat), 1000 + n, now, limit=3)
            ids[number] = id_of(chat)
        session.commit()
    return ids


def _person_to_page(engine: Engine, client: TestClient, ids: dict[str, int]) -> list[float]:
    """From the webhook POST to the line readable by `messages()`."""
    took: list[float] = []
    sid = 0
    for round_ in range(ROUNDS):
        for number, chat_id in ids.items():
            sid += 1
            text = f"line {round_} from {chat_id}"
            with engine.db.session() as session:
                seen = chats.messages(session, engine.vault, chat_id)
                session.commit()
            after = seen[-1].id if seen else 0
            body, headers = signed_sms(number, sid, text)
            began = time.perf_counter()
            client.post("/sms/inbound", content=body, headers=headers).raise_for_status()
            while True:
                with engine.db.session() as session:
                    new = chats.messages(session, engine.vault, chat_id, after)
                    session.commit()
                if any(line.text == text for line in new):
                    break
            took.append(time.perf_counter() - began)
    return took


def _worker_to_provider(engine: Engine, ids: dict[str, int], wake: bool) -> list[float]:
    """From `add_worker_message` to the provider's send, the quick round running."""
    sender = NotingSender()
    loop = asyncio.new_event_loop()
    delivery: ChatDelivery | None = None
    ready = threading.Event()

    def run() -> None:
        nonlocal delivery
        asyncio.set_event_loop(loop)
        delivery = ChatDelivery(engine.db, engine.vault, {"sms": sender})
        ready.set()
        with suppress(asyncio.CancelledError):
            loop.run_until_complete(delivery.run())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait()
    assert delivery is not None
    started: dict[str, float] = {}
    for round_ in range(ROUNDS):
        for chat_id in ids.values():
            text = f"worker line {round_} to {chat_id} ({'woken' if wake else 'polled'})"
            began = time.perf_counter()
            with engine.db.session() as session:
                chat = session.execute(
                    select(LiveChat).where(col(LiveChat.id) == chat_id)
                ).scalar_one()
                chats.add_worker_message(
                    session, engine.vault, chat, chat.claimed_by or 0, text, datetime.now(UTC)
                )
                session.commit()
            if wake:
                loop.call_soon_threadsafe(delivery.wake)
            started[text] = began
            # One line at a time, as a worker types: each is timed on its own.
            deadline = time.perf_counter() + 30
            while text not in sender.called and time.perf_counter() < deadline:
                time.sleep(0.002)
    for task in asyncio.all_tasks(loop):
        loop.call_soon_threadsafe(task.cancel)
    thread.join(timeout=5)
    return [sender.called[text] - began for text, began in started.items() if text in sender.called]


def _line(name: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(
        f"  {name:<44} p50 {percentile(ms, 0.50):7.1f} ms   p95 {percentile(ms, 0.95):7.1f} ms"
        f"   ({len(ms)} lines)"
    )


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="frontdoor-chat-bench-"))
    settings = bench_settings(var, database_url=f"sqlite:///{var / 'bench.db'}")
    engine = Engine(settings=settings)
    numbers = [f"+4477009{n:05d}" for n in range(CHATS)]
    ids = _open_chats(engine, numbers, datetime.now(UTC))
    # Each person is mid-chat, so their texts go to the worker.
    for number in numbers:
        _put_in_chat(engine, number)
    with TestClient(create_app(engine)) as client:
        print(f"Live chat, {CHATS} chats open (SQLite):")
        _line("person's message -> readable by messages()", _person_to_page(engine, client, ids))
    _line("worker's line -> provider (woken on commit)", _worker_to_provider(engine, ids, True))
    _line("worker's line -> provider (poll only)", _worker_to_provider(engine, ids, False))
    engine.db.dispose()


def _put_in_chat(engine: Engine, number: str) -> None:
    """The person's conversation where the chat flow leaves it (waiting state)."""
    person = engine.vault.person_key("sms", number)
    now = datetime.now(UTC)
    with engine.db.session() as session:
        engine.db.lock_conversation(
            session,
            person,
            {
                "channel": "sms",
                "flow": "live_chat",
                "state": "waiting",
                "slots_enc": engine.vault.seal(
                    {"audience": "me", "live_chat": {"_told": True}},
                    binding.conversation_slots(person),
                ),
                "locale": "en",
                "last_activity": now,
                "created_at": now,
            },
        )
        session.commit()


if __name__ == "__main__":
    main()
