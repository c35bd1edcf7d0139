"""Words that work from every state: EXIT, MENU, BACK, HELP, LANGUAGE, SKIP and
danger phrases, in every shipped language, with English always understood.

Command words must be the whole message (any case, stray spaces or
punctuation). Danger phrases count anywhere in a message, so "please help
me now he's here" still gets emergency guidance first.
"""

from __future__ import annotations

import re

from bot.content.model import Content
from bot.text import normalise

COMMANDS = ("exit", "menu", "back", "help", "language", "skip")


class GlobalWords:
    def __init__(self, content: Content, locales: list[str]) -> None:
        self.commands: dict[str, str] = {}
        for command in COMMANDS:
            for locale in ["en", *locales]:
                for word in content.words(f"words.{command}", "word", locale):
                    self.commands.setdefault(normalise(word), command)
        phrases: set[str] = set()
        for locale in ["en", *locales]:
            for phrase in content.words("words.danger", "phrases", locale):
                if normalise(phrase):
                    phrases.add(normalise(phrase))
        self.danger = frozenset(phrases)
        # One pass over the message, longest phrases first, whole words only.
        alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
        self._danger = re.compile(rf"(?:^| )(?:{alternatives})(?= |$)")

    def command(self, said: str) -> str | None:
        """`said` is already normalised."""
        return self.commands.get(said)

    def is_danger(self, said: str) -> bool:
        """`said` is already normalised."""
        return self._danger.search(said) is not None
