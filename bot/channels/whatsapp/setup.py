"""The WhatsApp channel's place in the app and the worker (see bot/channels/registry.py)."""

from __future__ import annotations

from fastapi import FastAPI

from bot.channels.registry import ChannelParts
from bot.outbox import Sender
from bot.settings import Settings


def startup_line(settings: Settings) -> str:
    """The one line the app logs at start-up about this channel."""
    if not settings.whatsapp_enabled:
        return "WhatsApp channel off: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and WHATSAPP_FROM"
    if not settings.public_base_url:
        return (
            "WhatsApp channel on at /whatsapp/inbound, but refusing every request: "
            "set PUBLIC_BASE_URL"
        )
    if not settings.whatsapp_text_before_call_content_sid:
        return (
            "WhatsApp channel on at /whatsapp/inbound; no text before a call on WhatsApp "
            "until WHATSAPP_TEXT_BEFORE_CALL_CONTENT_SID is set"
        )
    return "WhatsApp channel on at /whatsapp/inbound"


def mount(app: FastAPI, settings: Settings) -> None:
    """The webhooks, only with Twilio's credentials and a WhatsApp sender."""
    if settings.whatsapp_enabled:
        from bot.channels.whatsapp import webhook

        app.include_router(webhook.router)


def sender(settings: Settings) -> Sender | None:
    """Messages a person agreed to, through Twilio, when WhatsApp is configured."""
    if not settings.whatsapp_enabled:
        return None
    from bot.channels.whatsapp.send import WhatsAppSender

    return WhatsAppSender(settings)


PARTS = ChannelParts(name="whatsapp", mount=mount, startup_line=startup_line, sender=sender)
