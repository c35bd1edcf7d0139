"""Babel extractor for content YAML (registered as `frontdoor_content`).

Each text becomes a message whose context is its place in content, e.g.
`callback.voicemail:sms`, `callback.voicemail.yes:label` or, for the data
phrases used inside texts, `services.refuge.phone:data`, so the same
English in two places can be translated differently. Option `words` are
comma-separated lists: translators may add more words than English has.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from bot.content.model import PATTERN_FOLDER, Content

TRANSLATOR_NOTES = {
    "sms": "SMS form: plain text, keep it short (2 SMS at most).",
    "rich": "Telegram/web form: **bold** allowed.",
    "label": "Option label: short, shown as a button or numbered line.",
    "words": "Comma-separated words a person may type for this option; add your own.",
    "data": "A fact used inside other texts (a name, or how to reach a service).",
}


def extract_content(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]
) -> Iterator[tuple[int, str, tuple[str, str], list[str]]]:
    path = Path(getattr(fileobj, "name", ""))
    if not path.name or path.parent.name == PATTERN_FOLDER:
        return
    content = Content(path.parent, None, files=[path])
    for context, english, entry, kind in content.messages():
        notes = [TRANSLATOR_NOTES[kind]]
        if entry.comment:
            notes.append(entry.comment)
        if entry.params:
            notes.append("Keep these {placeholders} as they are: " + ", ".join(entry.params))
        yield entry.line, "pgettext", (context, english), notes
