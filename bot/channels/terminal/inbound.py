"""A typed line: a bare number within the last buttons is a button press."""

from __future__ import annotations

from bot.types import Option


def choice_for(line: str, options: tuple[Option, ...]) -> str | None:
    """A bare number within the last buttons is a button press, as on Telegram."""
    said = line.strip()
    if said.isascii() and said.isdigit() and 1 <= int(said) <= len(options):
        return options[int(said) - 1].id
    return None
