"""Workers' live-chat lines leave within a second, from the web app itself.

A worker's line is queued in the outbox in the same transaction that stores
it (bot/storage/chats.py). Waiting for the worker process's next round would
leave a person looking at a silent chat, so the web app runs a quick round
of its own for live-chat lines only: at once when woken (`wake`, called by
whoever just committed a line) and otherwise every POLL_SECONDS. It uses the
outbox's `send_due`, whose rows are marked `sending` and committed before
the provider is called, so this round and the worker's never send a line
twice; the worker's round stays the safety net (retries, backoff).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import exists, select
from sqlmodel import col

from bot.outbox import Sender, send_due
from bot.storage.chats import OUTBOX_KIND
from bot.storage.crypto import Vault
from bot.storage.db import Database
from bot.storage.models import Outbox

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
KINDS = {OUTBOX_KIND}


def _due(db: Database, now: datetime, channels: set[str]) -> bool:
    """Whether any live-chat line is waiting to go (one cheap indexed query)."""
    with db.session() as session:
        found = session.execute(
            select(
                exists().where(
                    col(Outbox.status) == "pending",
                    col(Outbox.kind) == OUTBOX_KIND,
                    col(Outbox.channel).in_(channels),
                    col(Outbox.next_attempt_at) <= now,
                )
            )
        ).scalar_one()
        session.commit()
    return bool(found)


class ChatDelivery:
    """The quick round; one per web process."""

    def __init__(
        self,
        db: Database,
        vault: Vault,
        senders: Mapping[str, Sender],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db, self.vault, self.senders, self.clock = db, vault, dict(senders), clock
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """A line was just committed: send it now rather than at the next poll.
        Safe from any thread (a sync route runs in a worker thread, and an
        asyncio event may only be set from its own loop)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not running: the next poll or the worker's round sends it
        loop.call_soon_threadsafe(self._wake.set)

    async def round(self) -> int:
        """Send what is due now; how many went."""
        if not self.senders:
            return 0
        now = self.clock()
        if not await asyncio.to_thread(_due, self.db, now, set(self.senders)):
            return 0
        counts = await send_due(self.db, self.vault, self.senders, now, kinds=KINDS)
        return counts.sent

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            self._wake.clear()
            try:
                await self.round()
            except Exception as error:  # noqa: BLE001 - the worker's round is the safety net
                log.warning("live-chat delivery round failed: %s", type(error).__name__)


@asynccontextmanager
async def running(app: FastAPI, senders: Mapping[str, Sender]) -> AsyncIterator[None]:
    """Run the quick round while the app runs; `app.state.chat_delivery.wake()`
    sends a just-committed line at once."""
    engine = app.state.engine
    delivery = ChatDelivery(engine.db, engine.vault, senders)
    app.state.chat_delivery = delivery
    task = asyncio.create_task(delivery.run()) if senders else None
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
