"""Telegram replies sent after the webhook has answered, when Telegram says wait.

The webhook never holds Telegram's request open to wait out a rate limit (a
429 with retry_after, or our own one-a-second pace in a chat): it answers at
once and the rest of the turn's replies go from here, in order, one chat at
a time. The rule is the one of every reply (bot/storage/deliveries.py): each
is counted as it goes; while this sender works on a turn it holds the turn
(a lease renewed well inside the worker's claim time), so the worker does
not send it too; if the process dies, the lease runs out and the worker
sends what is left. At least once, never lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.engine import Engine
from bot.storage.deliveries import hold
from bot.types import Reply

log = logging.getLogger(__name__)

CHANNEL = "telegram"
LONGEST_NAP = 60.0  # seconds asleep at most before the lease is renewed (claims last 2 min)
KEEP_TRYING = 600.0  # seconds one turn is tried here; then the worker carries on
FIRST_PAUSE = 1.0  # after a network error or a 5xx, doubled each time
LONGEST_PAUSE = 30.0

SendReply = Callable[[Bot, int, Reply], Awaitable[list[int]]]
Remember = Callable[[int, list[int]], Awaitable[None]]


def retry_after(error: RetryAfter) -> float:
    """Seconds Telegram asked us to wait."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class RateLimited(Exception):
    """Telegram (or our own pace) says this chat must wait; the webhook hands on."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"wait {wait:.1f}s")
        self.wait = wait


@dataclass
class Job:
    """The unsent replies of one turn. `message_id` None: replies not stored
    with a turn (the emergency guidance to a capped sender), sent the same way."""

    message_id: str | None
    replies: list[Reply]
    sent: int
    wait: float


class BackgroundSender:
    """One queue and one task per chat, so a chat's replies never overtake each other."""

    def __init__(self, engine: Engine, bot: Bot, send: SendReply, remember: Remember) -> None:
        self.engine, self.bot = engine, bot
        self._send, self._remember = send, remember
        self._queues: dict[int, deque[Job]] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def busy(self, chat_id: int) -> bool:
        """Replies of this chat are still waiting: new ones go behind them."""
        return chat_id in self._queues

    def holds(self, message_id: str) -> bool:
        """This turn is being sent here (a redelivered update must not send it too)."""
        return any(job.message_id == message_id for q in self._queues.values() for job in q)

    def add(
        self, chat_id: int, message_id: str | None, replies: list[Reply], sent: int, wait: float
    ) -> None:
        job = Job(message_id, replies, sent, wait)
        queue = self._queues.setdefault(chat_id, deque())
        queue.append(job)
        if chat_id not in self._tasks:
            self._tasks[chat_id] = asyncio.get_running_loop().create_task(self._run(chat_id))

    async def drop(self, chat_id: int) -> None:
        """EXIT: nothing more goes to this chat; its waiting replies count as done,
        so the worker does not send them either."""
        task, queue = self._tasks.pop(chat_id, None), self._queues.pop(chat_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for job in queue or ():
            if job.message_id is not None:
                await asyncio.to_thread(
                    self.engine.mark_delivered, CHANNEL, job.message_id, len(job.replies)
                )

    async def close(self) -> None:
        """Stop at once; the worker finishes what was left (the leases run out)."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._queues.clear()

    async def _run(self, chat_id: int) -> None:
        queue = self._queues[chat_id]
        try:
            while queue:
                job = queue[0]
                try:
                    await self._deliver(chat_id, job)
                except Exception as fault:  # noqa: BLE001 - the next turn still goes
                    log.error("telegram: background send failed: %s", type(fault).__name__)
                queue.popleft()
        finally:
            if self._queues.get(chat_id) is queue:  # not already dropped (EXIT)
                self._queues.pop(chat_id, None)
                self._tasks.pop(chat_id, None)

    async def _hold(self, job: Job) -> None:
        if job.message_id is not None:
            await asyncio.to_thread(hold, self.engine.db, CHANNEL, job.message_id, _now())

    async def _deliver(self, chat_id: int, job: Job) -> None:
        """Send job.replies[job.sent:], waiting as Telegram asks, for a while."""
        give_up = time.monotonic() + KEEP_TRYING
        wait, pause = job.wait, FIRST_PAUSE
        while job.sent < len(job.replies):
            while wait > 0:  # asleep in short naps, the lease renewed before each
                await self._hold(job)
                nap = min(wait, LONGEST_NAP)
                await asyncio.sleep(nap)
                wait -= nap
            if time.monotonic() > give_up:
                log.warning("telegram: replies left to the worker after waiting long")
                return
            await self._hold(job)
            try:
                ids = await self._send(self.bot, chat_id, job.replies[job.sent])
            except RetryAfter as error:
                wait = retry_after(error)
                continue
            except (Forbidden, ChatMigrated, InvalidToken, BadRequest) as error:
                log.warning("telegram: reply refused (%s)", type(error).__name__)
                return
            except (NetworkError, TelegramError) as error:
                log.warning("telegram: background reply not sent (%s)", type(error).__name__)
                wait, pause = pause, min(pause * 2, LONGEST_PAUSE)
                continue
            await self._remember(chat_id, ids)
            job.sent += 1
            if job.message_id is not None:
                await asyncio.to_thread(
                    self.engine.mark_delivered, CHANNEL, job.message_id, job.sent
                )


def _now() -> datetime:
    return datetime.now(UTC)
