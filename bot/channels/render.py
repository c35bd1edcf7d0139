"""How a channel-neutral Reply looks on each medium.

SMS: the plain text, then one numbered line per option ("1 Yes"). Telegram
and the web: the rich text as HTML (only **bold** and line breaks), with the
options as buttons.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from bot.text import to_gsm_plain
from bot.types import Reply

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def sms_text(reply: Reply) -> str:
    lines = [reply.sms] + [f"{n} {option.label}" for n, option in enumerate(reply.options, 1)]
    return to_gsm_plain("\n".join(lines))


def rich_html(reply: Reply) -> str:
    """Telegram-safe HTML: escaped text with <b> for **bold**."""
    return _BOLD.sub(r"<b>\1</b>", html.escape(reply.rich, quote=False))


def split_to_fit(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Cut a text too long for one message at line breaks, then at spaces, and
    only inside a word when one word alone is too long, so every piece fits.
    Both channels use it: SMS by characters, Telegram by its own measure."""
    if fits(text):
        return [text]
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if fits(candidate):
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = ""
        for word in line.split(" "):
            candidate = f"{current} {word}" if current else word
            if fits(candidate):
                current = candidate
                continue
            if current:
                pieces.append(current)
            while not fits(word):
                cut = _longest_fitting_prefix(word, fits)
                pieces.append(word[:cut])
                word = word[cut:]
            current = word
    if current:
        pieces.append(current)
    return [piece for piece in pieces if piece.strip()]


def _longest_fitting_prefix(word: str, fits: Callable[[str], bool]) -> int:
    low, high = 1, len(word)  # a single character always goes, whatever else
    while low < high:
        middle = (low + high + 1) // 2
        if fits(word[:middle]):
            low = middle
        else:
            high = middle - 1
    return low
