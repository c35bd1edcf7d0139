"""Who is this for: me, someone I'm worried about, my own behaviour, or a professional.

The answer picks the person's main menu and the route of any callback.
"""

from __future__ import annotations

from bot.dialogue import Dialogue
from bot.flows.base import Choice, Flow

AUDIENCES = ("me", "someone_else", "own_behaviour", "professional")


def _keep(d: Dialogue, option: str) -> None:
    d.slots["audience"] = option


def build() -> Flow:
    return Flow(
        "who",
        [Choice("ask", "who.ask", routes={a: "@menu" for a in AUDIENCES}, on_pick=_keep)],
    )
