"""Replies as the chat page shows them: the rich text as safe HTML (escaped,
only **bold**), options as buttons, and each message's own direction, so an
Urdu or Arabic reply reads right to left inside any page."""

from __future__ import annotations

from dataclasses import replace
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


# Replies whose words speak of a phone: the page says the same thing its own way.
PAGE_VARIANTS = {"first_contact.greeting": "webchat.greeting"}


def for_page(content: Content, reply: Reply) -> Reply:
    """The reply as the page should word it (same key, same options)."""
    variant = PAGE_VARIANTS.get(reply.key)
    if variant is None:
        return reply
    worded = content.reply(variant, reply.locale, options=[])
    return replace(reply, sms=worded.sms, rich=worded.rich)


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
