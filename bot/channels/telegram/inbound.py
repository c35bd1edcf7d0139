"""What comes in on Telegram: the webhook's secret checked, the update read and parsed."""

from __future__ import annotations

import hmac
import json
import logging

from fastapi import HTTPException, Request
from telegram import (
    Bot,
    Update,
)
from telegram.constants import ChatMemberStatus

from bot.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "telegram"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
COMMANDS = ("start", "help", "menu", "exit", "language", "back")
MENU_COMMANDS = ("start", "help", "menu", "exit", "language")  # shown in Telegram's menu
MAX_UPDATE_BYTES = 256 * 1024  # a text is at most 4096 characters; an update far less than this
JOINED = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.RESTRICTED}


def verify_secret(request: Request, settings: Settings) -> None:
    """Refuse (403) an update without Telegram's secret: anyone could post one."""
    secret = settings.telegram_webhook_secret.encode()
    given = request.headers.get(SECRET_HEADER, "").encode()
    if not secret or not hmac.compare_digest(given, secret):
        raise HTTPException(status_code=403)


async def read_update(request: Request, bot: Bot) -> Update:
    """The update in the request's body; 413 when far too large, 400 when unreadable."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPDATE_BYTES:
        raise HTTPException(status_code=413)
    body = await request.body()
    if len(body) > MAX_UPDATE_BYTES:
        raise HTTPException(status_code=413)  # no real update is near this size
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return Update.de_json(data, bot)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        log.warning("telegram webhook: unreadable update (%s)", type(error).__name__)
        raise HTTPException(status_code=400) from None
