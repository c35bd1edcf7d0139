"""The SMS channel's place in the app and the worker (see bot/channels/registry.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from bot.channels.registry import ChannelParts
from bot.channels.sms import status, webhook
from bot.outbox import Sender
from bot.settings import Settings

log = logging.getLogger(__name__)


def startup_line(settings: Settings) -> str:
    """The one line the app logs at start-up about this channel."""
    if not settings.sms_enabled:
        return (
            "SMS channel off: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM "
            "or TWILIO_MESSAGING_SERVICE_SID"
        )
    if not settings.public_base_url:
        return "SMS channel on at /sms/inbound, but refusing every request: set PUBLIC_BASE_URL"
    return "SMS channel on at /sms/inbound"


def mount(app: FastAPI, settings: Settings) -> None:
    """The webhooks, only with Twilio's credentials."""
    if settings.sms_enabled:
        app.include_router(webhook.router)
        app.include_router(status.router)


def sender(settings: Settings) -> Sender | None:
    """Texts a person agreed to, through Twilio, when it is configured."""
    if not settings.sms_enabled:
        return None
    from bot.channels.sms.send import SmsSender

    return SmsSender(settings)


PARTS = ChannelParts(name="sms", mount=mount, startup_line=startup_line, sender=sender)
