"""What follows a crisis, child or harm-risk signal from the safety screen.

The engine hands the conversation here (outside a callback request) once the
screen has read the message; each step is the signal's reply with its
choices: a call back, texting with a worker or the menu, or, for someone who
may hurt someone, the help for people who want to change. A child or young
person says their age: under 16 goes to children's help (never an adult callback), 16 or 17 may ask
for a call.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.dialogue import Dialogue
from bot.flows.base import Choice, Flow
from bot.flows.young import AGE_ROUTES, UNDER_16, keep_age

NAME = "support"


def _own_behaviour(d: Dialogue, option: str) -> None:
    if option == "change":
        d.slots["audience"] = "own_behaviour"


def _child_age(d: Dialogue, option: str) -> None:
    keep_age(d, {"callback": "aged_16_17"}.get(option, option))


def _no_call_under_16(options: list[str]) -> Callable[[Dialogue], list[str]]:
    """A child who said they are under 16 is never offered an adult callback,
    nor a chat with an adult service's worker."""

    def shown(d: Dialogue) -> list[str]:
        if d.slots.get("age_group") == UNDER_16:
            return [o for o in options if o not in ("callback", "text_worker")]
        return options

    return shown


def build() -> Flow:
    return Flow(
        NAME,
        [
            Choice(
                "crisis",
                "signals.crisis",
                routes={"callback": "@callback", "text_worker": "@live_chat", "menu": "@menu"},
                shown=_no_call_under_16(["callback", "text_worker", "menu"]),
            ),
            Choice(
                "child",
                "signals.child",
                routes={
                    "under_16": AGE_ROUTES["under_16"],
                    "callback": "@callback",
                    "menu": "@menu",
                },
                on_pick=_child_age,
                shown=_no_call_under_16(["under_16", "callback", "menu"]),
            ),
            Choice(
                "harm_risk",
                "signals.harm_risk",
                routes={"change": "@info:menus.own_behaviour", "menu": "@menu"},
                on_pick=_own_behaviour,
            ),
        ],
    )
