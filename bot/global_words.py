"""Words that work from every state: EXIT, MENU, BACK, HELP, LANGUAGE and SKIP,
in every shipped language, with English always understood.

Command words must be the whole message (any case, stray spaces or
punctuation). Danger, crisis and the other signals are the safety screen's
work (bot/safety), which reads every typed message before these.
"""

from __future__ import annotations

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

    def command(self, said: str) -> str | None:
        """`said` is already normalised."""
        return self.commands.get(said)
