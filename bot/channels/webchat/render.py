"""Replies as the chat page shows them: the rich text as safe HTML (escaped,
only **bold**), options as buttons, and each message's own direction, so an
Urdu or Arabic reply reads right to left inside any page."""

from __future__ import annotations

from typing import Any

from bot.channels.render import rich_html
from bot.content.model import Content
from bot.types import Reply

# The page's own words (content/webchat.yaml), sent to the script too.
PAGE_WORDS = (
    "title",
    "intro",
    "privacy",
    "exit",
    "exit_hint",
    "conversation",
    "you",
    "bot",
    "message_label",
    "send",
    "start",
    "options",
    "sending",
    "failed",
    "new_message",
    "open",
    "close",
    "ended",
)


def reply_json(reply: Reply) -> dict[str, Any]:
    """One reply for the page; `exit` marks EXIT typed in the chat."""
    return {
        "key": reply.key,
        "html": rich_html(reply),
        "options": [{"id": o.id, "label": o.label} for o in reply.options],
        "dir": reply.direction,
        "lang": reply.locale,
        "exit": reply.action == "quick_exit",
    }


def page_words(content: Content, locale: str) -> dict[str, str]:
    return {name: content.text(f"webchat.{name}", locale) for name in PAGE_WORDS}
