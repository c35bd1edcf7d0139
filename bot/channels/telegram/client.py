"""The Bot API client: PTB's Application or a one-off bot, with the sending pace
Telegram asks for, and libraries kept from logging tokens or text.
"""

from __future__ import annotations

import logging
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import (
    AIORateLimiter,
    Application,
    ExtBot,
)

from bot.settings import Settings

# Telegram: about one message a second in one chat (short bursts pass), about
# thirty a second overall. Read when a limiter is made, so tests can go faster.
PER_CHAT_RATE = 1.0
PER_CHAT_BURST = 3


def quiet_libraries() -> None:
    """httpx logs request URLs (they carry the token); PTB at DEBUG logs message text."""
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLogger().level))
    # A 429 is expected and handled here (sent later, logged by kind); the
    # library would log each one as an error with a traceback.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)


# ----- sending limits ------------------------------------------------------
class ChatRateLimiter(AIORateLimiter):
    """PTB's limiter (about 30 a second overall, 20 a minute per group, waits out
    429 retry_after) plus about one message a second per private chat, with a
    short burst so a two- or three-part answer is not held back."""

    def __init__(self, max_retries: int = 1) -> None:
        super().__init__(max_retries=max_retries)
        self._per_chat, self._burst = PER_CHAT_RATE, PER_CHAT_BURST
        self._chats: dict[int, AsyncLimiter] = {}

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        forward = super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
        if endpoint != "sendMessage" or not isinstance(chat_id, int) or chat_id <= 0:
            return await forward
        async with self._limiter_for(chat_id):
            return await forward

    def has_room(self, chat_id: int) -> bool:
        """Whether a message to this chat would go now, without waiting for the pace."""
        return chat_id <= 0 or self._limiter_for(chat_id).has_capacity()

    def _limiter_for(self, chat_id: int) -> AsyncLimiter:
        if len(self._chats) > 1024:  # forget chats that have been quiet
            self._chats = {k: v for k, v in self._chats.items() if not v.has_capacity(v.max_rate)}
        period = self._burst / self._per_chat
        return self._chats.setdefault(chat_id, AsyncLimiter(self._burst, period))


def api_base(settings: Settings) -> tuple[str, str] | None:
    """base_url and base_file_url for a local Bot API server, if one is configured."""
    root = settings.telegram_api_base_url.rstrip("/")
    if not root:
        return None
    root = root.removesuffix("/bot")
    return f"{root}/bot", f"{root}/file/bot"


def build_application(
    settings: Settings, *, polling: bool = False, max_retries: int = 1
) -> Application:
    """The PTB Application: no updater for the webhook (the ASGI app feeds it),
    an updater for `frontdoor telegram poll`."""
    quiet_libraries()
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .rate_limiter(ChatRateLimiter(max_retries=max_retries))
        .concurrent_updates(True)  # the engine keeps each conversation in order
    )
    if not polling:
        builder = builder.updater(None)
    urls = api_base(settings)
    if urls is not None:
        builder = builder.base_url(urls[0]).base_file_url(urls[1])
    return builder.build()


def make_bot(settings: Settings, max_retries: int = 0) -> ExtBot:
    """A bot for one-off calls (the CLI, the worker's sender)."""
    quiet_libraries()
    urls = api_base(settings)
    extra: dict[str, Any] = {}
    if urls is not None:
        extra = {"base_url": urls[0], "base_file_url": urls[1]}
    return ExtBot(
        settings.telegram_bot_token, rate_limiter=ChatRateLimiter(max_retries=max_retries), **extra
    )
