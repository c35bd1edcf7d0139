"""Who is this for: me, someone I'm worried about, my own behaviour, a professional,
or a child or young person.

The answer picks the person's main menu and the route of any callback. A
child or young person is asked their age first: under 16 gets children's
help and never an adult callback; 16 and 17 may ask adult services to call.
"""

from __future__ import annotations

from bot.dialogue import Dialogue
from bot.flows.base import Choice, Flow
from bot.flows.young import AGE_ROUTES, keep_age

AUDIENCES = ("me", "someone_else", "own_behaviour", "professional")
YOUNG = "young"


def _keep(d: Dialogue, option: str) -> None:
    if option in AUDIENCES:
        d.slots["audience"] = option


def build() -> Flow:
    routes: dict = {a: "@menu" for a in AUDIENCES}
    routes[YOUNG] = "age"
    return Flow(
        "who",
        [
            Choice("ask", "who.ask", routes=routes, on_pick=_keep),
            Choice("age", "who.age", routes=dict(AGE_ROUTES), on_pick=keep_age),
        ],
    )
