"""`frontdoor telegram set-webhook` and `frontdoor telegram poll`.

set-webhook tells Telegram where to deliver updates (PUBLIC_BASE_URL +
/telegram/webhook), with the secret it must send back and only the update
kinds the bot handles, and fills the command menu in every shipped language.
poll is for a laptop without a public address: it removes the webhook and
fetches updates itself, through the same handlers as the webhook.
PARTS is the channel's place in the app and the worker (bot/channels/registry.py).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable

from fastapi import FastAPI
from telegram import BotCommand
from telegram.error import TelegramError

from bot.channels.registry import ChannelParts
from bot.channels.telegram import webhook
from bot.channels.telegram.client import build_application, make_bot
from bot.channels.telegram.handlers import TelegramChannel
from bot.channels.telegram.inbound import ALLOWED_UPDATES, MENU_COMMANDS, WEBHOOK_PATH
from bot.content.model import Content
from bot.engine import Engine
from bot.outbox import Sender
from bot.settings import Settings

log = logging.getLogger(__name__)

Say = Callable[[str], None]


def commands(content: Content, locale: str) -> list[BotCommand]:
    """The command menu in one language, from content (channels.command_*)."""
    return [
        BotCommand(name, content.text(f"channels.command_{name}", locale)[:256])
        for name in MENU_COMMANDS
    ]


async def set_webhook(settings: Settings, content: Content, say: Say = print) -> int:
    if not settings.telegram_bot_token:
        say("Set TELEGRAM_BOT_TOKEN first (from @BotFather).")
        return 2
    if not settings.telegram_webhook_secret:
        say("Set TELEGRAM_WEBHOOK_SECRET first: the webhook refuses to run without it.")
        return 2
    if not settings.public_base_url.startswith("https://") and not settings.telegram_api_base_url:
        say("Set PUBLIC_BASE_URL to the https address Telegram can reach.")
        return 2
    url = settings.public_base_url.rstrip("/") + WEBHOOK_PATH
    try:
        async with make_bot(settings, max_retries=2) as bot:
            await bot.set_webhook(
                url,
                secret_token=settings.telegram_webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            say(f"Webhook set to {url} for: {', '.join(ALLOWED_UPDATES)}.")
            await bot.set_my_commands(commands(content, settings.default_locale))
            say(f"Command menu set (default, {settings.default_locale}).")
            for locale in settings.locales:
                await bot.set_my_commands(commands(content, locale), language_code=locale)
                say(f"Command menu set for language {locale}.")
    except TelegramError as error:
        say(f"Telegram refused or could not be reached ({type(error).__name__}).")
        return 1
    return 0


async def poll(engine: Engine, stop: asyncio.Event, say: Say = print) -> int:
    """Long polling until `stop` is set; the webhook is removed first."""
    settings = engine.settings
    if not settings.telegram_bot_token:
        say("Set TELEGRAM_BOT_TOKEN first (from @BotFather).")
        return 2
    application = build_application(settings, polling=True)
    channel = TelegramChannel(engine, application)
    try:
        await application.initialize()
        await application.bot.delete_webhook()
        say("Webhook removed; fetching updates here. Ctrl-C stops.")
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES, timeout=10)
        await application.start()
        await stop.wait()
    except TelegramError as error:
        say(f"Telegram refused or could not be reached ({type(error).__name__}).")
        return 1
    finally:
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        await channel.close()
    say("Stopped.")
    return 0


def run_poll(engine: Engine) -> int:
    """Ctrl-C (or SIGTERM) ends polling cleanly."""

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await poll(engine, stop)

    return asyncio.run(main())


def mount(app: FastAPI, settings: Settings) -> None:
    """The webhook, only with a token and its secret (the lifespan says which)."""
    if webhook.webhook_ready(settings):
        app.include_router(webhook.router)


def sender(settings: Settings) -> Sender | None:
    """Staff notices and texts a person agreed to, when a token is set."""
    if not settings.telegram_enabled:
        return None
    from bot.channels.telegram.send import TelegramSender

    return TelegramSender(settings)


async def finish(engine: Engine) -> int:
    """Replies a webhook left unsent; none while Telegram is off."""
    if not engine.settings.telegram_enabled:
        return 0
    from bot.channels.telegram.send import finish_unfinished

    return await finish_unfinished(engine)


PARTS = ChannelParts(
    name="telegram", mount=mount, lifespan=webhook.lifespan, sender=sender, finish=finish
)
