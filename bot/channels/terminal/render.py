"""A reply as the terminal shows it: the SMS text, or Telegram's with bold and buttons."""

from __future__ import annotations

import html

from bot.channels.render import rich_html
from bot.types import Reply

BOLD_ON, BOLD_OFF = "\033[1m", "\033[0m"


def telegram_text(reply: Reply, ansi: bool) -> str:
    """The rich text with bold as ANSI (or plain), then the options as buttons."""
    on, off = (BOLD_ON, BOLD_OFF) if ansi else ("", "")
    marked = rich_html(reply).replace("<b>", on).replace("</b>", off)
    text = html.unescape(marked)
    if reply.options:
        buttons = " ".join(f"[{n} {o.label}]" for n, o in enumerate(reply.options, 1))
        text = f"{text}\n{buttons}"
    return text
