"""How a reply looks on Telegram: HTML pieces that fit, buttons on the last."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
)
from telegram.constants import MessageLimit

from bot.channels.render import rich_html, split_to_fit
from bot.types import Reply

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # a link card could show what the chat is about


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _pieces(reply: Reply, limit: int) -> list[str]:
    """The reply's rich text cut so each piece, as Telegram HTML, fits."""
    return split_to_fit(
        reply.rich, lambda text: _utf16(rich_html(replace(reply, rich=text))) <= limit
    )


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.options:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(o.label, callback_data=o.id)] for o in reply.options]
    )


def telegram_messages(reply: Reply, limit: int = MAX_TEXT) -> list[tuple[str, Any]]:
    """One reply as the messages Telegram shows: HTML text, buttons on the last."""
    texts = [rich_html(replace(reply, rich=piece)) for piece in _pieces(reply, limit)]
    markup = keyboard(reply)
    return [(text, markup if n == len(texts) - 1 else None) for n, text in enumerate(texts)]
