"""A reply as JSON for the simulator page, rendered by the shared renderers."""

from __future__ import annotations

from typing import Any

from bot.channels.render import rich_html, sms_text
from bot.types import Reply


def reply_json(reply: Reply) -> dict[str, Any]:
    """One reply as both media render it, so the page never re-implements rendering."""
    return {
        "key": reply.key,
        "sms": sms_text(reply),
        "html": rich_html(reply),
        "options": [{"id": o.id, "label": o.label} for o in reply.options],
        "direction": reply.direction,
        "action": reply.action,
    }
