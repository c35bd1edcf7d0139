"""The web chat's place in the app (bot/channels/registry.py).

It needs no credentials, so it is always on. Its configuration is read from
content when the app is built, because the page's framing policy comes from
it. There is no outbox sender: a web page cannot be sent to, so what is
queued for it waits until the page polls (bot/channels/mailbox.py).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from bot.channels.registry import ChannelParts
from bot.channels.webchat import webhook
from bot.channels.webchat.config import load_config
from bot.settings import Settings


def startup_line(settings: Settings) -> str:
    config = load_config(settings.content_dir)
    sites = len(config.allowed_origins)
    return (
        f"Web chat on at /chat; widget at /chat/widget.js for {sites} allowed site(s)"
        if sites
        else "Web chat on at /chat; no site may embed it yet (content/data/webchat.yaml)"
    )


def mount(app: FastAPI, settings: Settings) -> None:
    app.state.webchat = load_config(settings.content_dir)
    app.include_router(webhook.router)
    app.mount("/chat/static", StaticFiles(directory=webhook.STATIC_DIR), name="webchat-static")


PARTS = ChannelParts(name="webchat", mount=mount, startup_line=startup_line)
