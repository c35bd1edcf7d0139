"""Information and guidance: menus and topics, built from content/info/*.yaml.

Each info entry is a state; each option's `goto` is a transition. So people
who edit content change the menus without code, and the content check can
prove every topic is reachable and none is a dead end.
"""

from __future__ import annotations

from bot.content.model import Content
from bot.flows.base import Choice, Flow, Route, Step

NAME = "info"


def target(goto: str) -> str:
    """Translate a content `goto` into a flow target."""
    if goto == "menu":
        return "@menu"
    if goto.startswith("flow:"):
        return "@" + goto.removeprefix("flow:")
    return goto


def info_keys(content: Content) -> list[str]:
    return [key for key, entry in content.entries.items() if entry.file.parent.name == "info"]


def build(content: Content) -> Flow:
    steps: list[Step] = []
    for key in info_keys(content):
        entry = content.entry(key)
        routes: dict[str, Route] = {o.id: target(o.goto or "menu") for o in entry.options}
        steps.append(Choice(key, key, routes=routes))
    return Flow(NAME, steps, initial="menus.me" if "menus.me" in content else None)
