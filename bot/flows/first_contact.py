"""First contact: a neutral greeting, then "Is it safe for you to text right now?".

The greeting itself is said by the engine when a conversation starts (or
starts again); this flow holds the safety question and what each answer does.
"""

from __future__ import annotations

from bot.dialogue import Dialogue
from bot.flows.base import Choice, Flow


def _has_open_request(d: Dialogue) -> bool:
    return d.requests.open_request() is not None


def _not_now(d: Dialogue, option: str) -> None:
    if option == "not_now":
        d.say("first_contact.not_now")


def build() -> Flow:
    onwards = [(_has_open_request, "@my_request"), (None, "@who")]
    return Flow(
        "first_contact",
        [
            Choice(
                "safe_to_text",
                "first_contact.safe_to_text",
                routes={"yes": onwards, "not_now": "@end", "danger": "after_danger"},
                on_pick=_not_now,
            ),
            Choice(
                "after_danger",
                "first_contact.after_danger",
                before="words.danger",
                routes={"safe_now": onwards, "not_now": "@end"},
                on_pick=_not_now,
            ),
        ],
    )
