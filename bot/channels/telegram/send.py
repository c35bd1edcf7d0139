"""Replies delivered at least once: sent in order, counted as they go, remembered
for the EXIT wipe; the worker finishes what a webhook could not, and sends the
outbox's messages (TelegramSender).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import DBAPIError
from telegram import (
    Bot,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.channels.telegram.background import RateLimited, retry_after
from bot.channels.telegram.client import (
    ChatRateLimiter,
    make_bot,
)
from bot.channels.telegram.inbound import (
    CHANNEL,
)
from bot.channels.telegram.render import NO_PREVIEW, keyboard, telegram_messages
from bot.channels.telegram.wipe import remember
from bot.engine import Engine
from bot.outbox import SendDeferred, SendRefused, Sent
from bot.settings import Settings
from bot.storage.deliveries import claim_unfinished
from bot.types import Reply

log = logging.getLogger(__name__)


async def send_reply(bot: Bot, chat_id: int, reply: Reply) -> list[int]:
    """Send one reply; returns the ids of the messages it became."""
    ids = []
    for text, markup in telegram_messages(reply):
        try:
            message = await bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=NO_PREVIEW,
            )
        except BadRequest as error:
            # Formatting Telegram would not take must not become silence: the
            # plain form of the whole reply instead.
            log.warning("telegram: reply refused (%s); sent as plain text", type(error).__name__)
            message = await bot.send_message(
                chat_id, reply.sms, reply_markup=keyboard(reply), link_preview_options=NO_PREVIEW
            )
            ids.append(message.message_id)
            break
        ids.append(message.message_id)
    return ids


def _now() -> datetime:
    return datetime.now(UTC)


# ----- replies delivered at least once ---------------------------------------------
SEND_TRIES = 3  # quick tries in the webhook; the rest is left to redelivery and the worker
SEND_PAUSE = 0.5  # seconds before the second try, doubled for the third
LONGEST_WAIT = 5.0  # a longer retry_after is not waited out here


async def remember_sent(
    engine: Engine, chat_id: int, ids: list[int], person: str | None = None
) -> None:
    """Reply ids of a private chat, for the EXIT wipe; never a reason to fail.
    `person` is the chat's person key when the caller already made it."""
    if chat_id <= 0 or not ids:
        return
    try:
        person = person or engine.vault.person_key(CHANNEL, str(chat_id))  # may load the key
        await asyncio.to_thread(remember, engine.db, person, ids, _now())
    except DBAPIError:
        log.error("telegram: reply ids not remembered: database unavailable")


async def send_with_retries(
    bot: Bot, chat_id: int, reply: Reply, *, patient: bool = True
) -> list[int] | None:
    """Send one reply, trying again briefly after a network error, a 5xx or (when
    `patient`: the worker) a short 429; None when it did not go (the caller
    leaves it for later). Not patient (a webhook), a 429 raises RateLimited."""
    pause = SEND_PAUSE
    for attempt in range(SEND_TRIES):
        try:
            return await send_reply(bot, chat_id, reply)
        except RetryAfter as error:
            wait = retry_after(error)
            if not patient:
                raise RateLimited(wait) from None
            if wait > LONGEST_WAIT:
                return None
            await asyncio.sleep(wait)
        except (Forbidden, ChatMigrated, InvalidToken, BadRequest) as error:
            # Telegram refuses for good (blocked by the person, a wrong token):
            # trying again would not help. Logged by kind only.
            log.warning("telegram: reply refused (%s)", type(error).__name__)
            return None
        except (NetworkError, TelegramError) as error:  # TimedOut is a NetworkError
            log.warning("telegram: reply not sent, try %d (%s)", attempt + 1, type(error).__name__)
            if attempt + 1 < SEND_TRIES:
                await asyncio.sleep(pause)
                pause *= 2
    return None


async def deliver(
    engine: Engine, bot: Bot, chat_id: int, message_id: str, replies: list[Reply], start: int
) -> int:
    """Send replies[start:] in order, recording each one sent; stop at the first
    that cannot go, so nothing arrives out of order. Returns how many are sent."""
    sent = start
    for reply in replies[start:]:
        ids = await send_with_retries(bot, chat_id, reply)
        if ids is None:
            break
        await remember_sent(engine, chat_id, ids)
        sent += 1
        await asyncio.to_thread(engine.mark_delivered, CHANNEL, message_id, sent)
    return sent


async def deliver_now(
    engine: Engine,
    bot: Bot,
    chat_id: int,
    message_id: str,
    replies: list[Reply],
    start: int,
    person: str | None = None,
) -> tuple[int, float | None]:
    """The webhook's part: send replies[start:] in order while no rate limit
    stands in the way. Returns how many are sent and, when a rate limit (a 429,
    or the chat's own pace) stopped it, how long to wait before the rest.
    `person` is the chat's person key, made once for the message."""
    limiter = getattr(bot, "rate_limiter", None)
    sent = start
    for reply in replies[start:]:
        if isinstance(limiter, ChatRateLimiter) and not limiter.has_room(chat_id):
            return sent, 0.0  # the chat's pace would hold the webhook: the rest waits its turn
        try:
            ids = await send_with_retries(bot, chat_id, reply, patient=False)
        except RateLimited as limited:
            return sent, limited.wait
        if ids is None:
            return sent, None
        await remember_sent(engine, chat_id, ids, person)
        sent += 1
        await asyncio.to_thread(engine.mark_delivered, CHANNEL, message_id, sent)
    return sent, None


async def finish_unfinished(engine: Engine, now: datetime | None = None) -> int:
    """The worker's part: send what webhooks could not (a Bot API outage, a process
    killed mid-send). Returns how many replies went out."""
    unfinished = await asyncio.to_thread(
        claim_unfinished, engine.db, engine.vault, CHANNEL, now or _now()
    )
    if not unfinished:
        return 0
    total = 0
    async with make_bot(engine.settings) as bot:
        for turn in unfinished:
            try:
                chat_id = int(turn.address)
            except ValueError:
                continue
            done = await deliver(
                engine, bot, chat_id, turn.provider_id, turn.replies, turn.delivered
            )
            total += done - turn.delivered
    return total


# ----- the worker's sender ----------------------------------------------------
def _surely_not_sent(error: NetworkError) -> bool:
    """A connection that never opened (or a full pool) sent nothing."""
    import httpx

    cause = error.__cause__
    return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


class TelegramSender:
    """The outbox's way to Telegram: staff notices and any message a person agreed to.

    A message to a person's private chat is remembered for the EXIT wipe.
    """

    channel = CHANNEL

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._remember: tuple[Any, Any] | None = None

    def _memory(self) -> tuple[Any, Any]:
        if self._remember is None:
            from bot.storage.db import Database
            from bot.storage.keys import open_vault

            db = Database(self.settings.sqlalchemy_url)
            self._remember = (db, open_vault(self.settings, db))
        return self._remember

    async def send(self, address: str, text: str) -> Sent:
        try:
            chat_id = int(address)
        except ValueError:
            raise SendRefused("bad_chat_id") from None
        try:
            async with make_bot(self.settings) as bot:
                message = await bot.send_message(chat_id, text, link_preview_options=NO_PREVIEW)
        except RetryAfter as error:
            raise SendDeferred("429", retry_after(error)) from None
        except TimedOut:
            raise  # it may have gone: the outbox never sends it again
        except (Forbidden, ChatMigrated) as error:
            raise SendRefused(type(error).__name__[:20]) from None
        except BadRequest:
            raise SendRefused("400") from None
        except InvalidToken:
            raise SendDeferred("401") from None
        except NetworkError as error:
            if _surely_not_sent(error):
                raise SendDeferred("network") from None
            raise
        if chat_id > 0:
            db, vault = self._memory()
            person = vault.person_key(CHANNEL, str(chat_id))
            await asyncio.to_thread(remember, db, person, [message.message_id], _now())
        return Sent(provider_id=str(message.message_id))
