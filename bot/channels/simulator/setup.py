"""The simulator's place in the app (bot/channels/registry.py): never in production."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from bot.channels.registry import ChannelParts
from bot.channels.simulator import webhook
from bot.settings import Settings


def simulator_enabled(settings: Settings) -> bool:
    """The simulator writes real conversations, so production never exposes it
    (production refuses to start with SIMULATOR on: bot/production.py)."""
    if settings.frontdoor_env == "production":
        return False
    return settings.simulator is not False


def mount(app: FastAPI, settings: Settings) -> None:
    """The page and its route, with the site's root pointing at it."""
    if not simulator_enabled(settings):
        return
    app.include_router(webhook.router)

    @app.get("/", include_in_schema=False)
    def index() -> RedirectResponse:
        return RedirectResponse("/simulator", status_code=307)


PARTS = ChannelParts(name="simulator", mount=mount)
