"""The webhook: Telegram's signed delivery of one update, processed before the
answer, and the channel started and stopped with the app.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response

from bot.channels.telegram.client import (
    build_application,
)
from bot.channels.telegram.handlers import TelegramChannel
from bot.channels.telegram.inbound import (
    WEBHOOK_PATH,
    read_update,
    verify_secret,
)
from bot.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(tags=["telegram"])


@router.post(WEBHOOK_PATH, include_in_schema=False)
async def webhook(request: Request) -> Response:
    """Telegram's signed delivery of one update; processed before the 200."""
    settings: Settings = request.app.state.engine.settings
    verify_secret(request, settings)
    channel: TelegramChannel | None = getattr(request.app.state, "telegram", None)
    if channel is None or not await channel.ready():
        raise HTTPException(status_code=503)  # Telegram delivers it again later
    update = await read_update(request, channel.application.bot)
    await channel.application.process_update(update)
    if update.update_id in channel.redeliver:
        channel.redeliver.discard(update.update_id)
        raise HTTPException(status_code=503)  # not finished: Telegram delivers it again
    return Response(status_code=200)


@asynccontextmanager
async def lifespan(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """Start the channel with the app when it has credentials; say so in one line."""
    if not webhook_ready(settings):
        log.info("Telegram channel off: set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET")
        yield
        return
    # No retries inside the library: it would sleep out a 429 in the webhook.
    channel = TelegramChannel(app.state.engine, build_application(settings, max_retries=0))
    app.state.telegram = channel
    log.info("Telegram channel on at %s", WEBHOOK_PATH)
    await channel.ready()  # if the Bot API is away, the first update tries again
    try:
        yield
    finally:
        app.state.telegram = None
        await channel.close()


def webhook_ready(settings: Settings) -> bool:
    """The webhook runs only with a token and a secret: without the secret anyone
    could post forged updates."""
    return settings.telegram_enabled and bool(settings.telegram_webhook_secret)
