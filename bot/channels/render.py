"""How a channel-neutral Reply looks on each medium.

SMS: the plain text, then one numbered line per option ("1 Yes"). Telegram
and the web: the rich text as HTML (only **bold** and line breaks), with the
options as buttons.
"""

from __future__ import annotations

import html
import re

from bot.text import to_gsm_plain
from bot.types import Reply

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def sms_text(reply: Reply) -> str:
    lines = [reply.sms] + [f"{n} {option.label}" for n, option in enumerate(reply.options, 1)]
    return to_gsm_plain("\n".join(lines))


def rich_html(reply: Reply) -> str:
    """Telegram-safe HTML: escaped text with <b> for **bold**."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(reply.rich, quote=False))
