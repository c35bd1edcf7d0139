"""Every channel the web app and the worker know, in one place.

Adding a channel means one package under bot/channels/ with a `setup.py` that
describes its parts (`ChannelParts`), and one line in `LOADERS` below: the web
app mounts its routes and runs its lifespan, the worker asks it for a sender
and for replies a webhook left unsent. Nothing else is touched by hand.
Loaders import lazily, so a module that only needs the types stays light.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from bot.engine import Engine
from bot.outbox import Sender
from bot.settings import Settings

Lifespan = Callable[[FastAPI, Settings], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def no_lifespan(_app: FastAPI, _settings: Settings) -> AsyncIterator[None]:
    """For a channel with nothing to start or stop."""
    yield


@dataclass(frozen=True, slots=True)
class ChannelParts:
    """What the app and the worker need from one channel."""

    name: str
    # Adds the channel's routes when it is configured.
    mount: Callable[[FastAPI, Settings], None]
    # The one line the app logs at start-up about the channel, if it has one.
    startup_line: Callable[[Settings], str] | None = None
    # Starts and stops what the channel keeps while the app runs.
    lifespan: Lifespan = no_lifespan
    # The outbox's sender, or None while the channel has no credentials.
    sender: Callable[[Settings], Sender | None] = lambda _settings: None
    # The worker's round: replies a webhook left unsent; returns how many went.
    finish: Callable[[Engine], Coroutine[Any, Any, int]] | None = None


def _sms() -> ChannelParts:
    from bot.channels.sms.setup import PARTS

    return PARTS


def _telegram() -> ChannelParts:
    from bot.channels.telegram.setup import PARTS

    return PARTS


def _simulator() -> ChannelParts:
    from bot.channels.simulator.setup import PARTS

    return PARTS


def _whatsapp() -> ChannelParts:
    from bot.channels.whatsapp.setup import PARTS

    return PARTS


def _webchat() -> ChannelParts:
    from bot.channels.webchat.setup import PARTS

    return PARTS


LOADERS: tuple[Callable[[], ChannelParts], ...] = (
    _telegram,
    _sms,
    _whatsapp,
    _webchat,
    _simulator,
)


def channels() -> list[ChannelParts]:
    """Every channel, in the order the app mounts them."""
    return [load() for load in LOADERS]
