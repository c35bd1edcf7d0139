"""Words that work from every state: EXIT, MENU, BACK, HELP, LANGUAGE, SKIP and
MY REQUEST, in every shipped language, with English always understood.

Command words must be the whole message (any case, stray spaces or
punctuation). The words for a person's own request ("my request", "status",
"cancel my call") may also carry a reference ("cancel FD-7KQ2"), for someone
writing from a new number. A bare "cancel" on SMS never reaches the engine:
it is the carrier's opt-out word (bot/channels/sms/keywords.py).
Danger, crisis and the other signals are the safety screen's work
(bot/safety), which reads every typed message before these.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.content.model import Content
from bot.text import normalise

COMMANDS = ("exit", "menu", "back", "help", "language", "skip", "my_request")
REFERENCE_LETTERS = "abcdefghjklmnpqrstuvwxyz23456789"  # bot/storage/requests.py


@lru_cache(maxsize=8)
def reference_pattern(prefix: str) -> re.Pattern[str]:
    """A reference inside normalised text: "fd 7kq2", "fd7kq2" or "fd-7kq2"."""
    letters = f"[{REFERENCE_LETTERS}]"
    return re.compile(rf"(?<!\w){re.escape(normalise(prefix))}\s?({letters}{{4}})(?!\w)")


@lru_cache(maxsize=8)
def raw_reference_pattern(prefix: str) -> re.Pattern[str]:
    """A reference inside a message as typed: "FD-7KQ2", "fd 7kq2", "FD7KQ2"."""
    letters = f"[{REFERENCE_LETTERS}]"
    return re.compile(rf"(?<!\w){re.escape(prefix)}[\s-]?{letters}{{4}}(?!\w)", re.IGNORECASE)


def split_reference(text: str, prefix: str) -> tuple[str | None, str]:
    """The reference in a message, as issued ("FD-7KQ2"), and the rest of it
    normalised ("cancel FD-7KQ2" gives ("FD-7KQ2", "cancel"))."""
    said = normalise(text)
    pattern = reference_pattern(prefix)
    match = pattern.search(said)
    if match is None:
        return None, said
    return f"{prefix}-{match.group(1).upper()}", " ".join(pattern.sub(" ", said).split())


class GlobalWords:
    def __init__(self, content: Content, locales: list[str]) -> None:
        self.commands: dict[str, str] = {}
        for command in COMMANDS:
            for locale in ["en", *locales]:
                for word in content.words(f"words.{command}", "word", locale):
                    self.commands.setdefault(normalise(word), command)
        self.prefix = str(content.data.get("service", {}).get("reference_prefix", "FD"))

    def command(self, said: str) -> str | None:
        """`said` is already normalised."""
        found = self.commands.get(said)
        if found is None:
            reference, rest = split_reference(said, self.prefix)
            if reference and self.commands.get(rest) == "my_request":
                return "my_request"
        return found

    def mask_reference(self, text: str) -> str:
        """The message as typed, without any reference in it (for the safety
        screen, which could read "FD-SHER" as words)."""
        return raw_reference_pattern(self.prefix).sub(" ", text)

    def reference(self, said: str) -> str | None:
        """The reference in a message ("FD-7KQ2"), or None."""
        return split_reference(said, self.prefix)[0]
