"""What follows a crisis, child or harm-risk signal from the safety screen.

The engine hands the conversation here (outside a callback request) once the
screen has read the message; each step is the signal's reply with its
choices: a call back or the menu, or, for someone who may hurt someone, the
help for people who want to change.
"""

from __future__ import annotations

from bot.dialogue import Dialogue
from bot.flows.base import Choice, Flow

NAME = "support"


def _own_behaviour(d: Dialogue, option: str) -> None:
    if option == "change":
        d.slots["audience"] = "own_behaviour"


def build() -> Flow:
    return Flow(
        NAME,
        [
            Choice("crisis", "signals.crisis", routes={"callback": "@callback", "menu": "@menu"}),
            Choice("child", "signals.child", routes={"callback": "@callback", "menu": "@menu"}),
            Choice(
                "harm_risk",
                "signals.harm_risk",
                routes={"change": "@info:menus.own_behaviour", "menu": "@menu"},
                on_pick=_own_behaviour,
            ),
        ],
    )
