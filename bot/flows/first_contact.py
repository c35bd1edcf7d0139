"""First contact: a neutral greeting, then "Is it safe for you to text right now?".

The greeting itself is said by the engine when a conversation starts (or
starts again); this flow holds the safety question and what each answer does.
Everyone goes on to "Who is this for?", whether or not they have a request:
the phone may be in someone else's hands, so a request opens only through
"my request" and its code word (bot/flows/my_request.py).
"""

from __future__ import annotations

from bot.dialogue import Dialogue
from bot.flows.base import Choice, Flow


def _not_now(d: Dialogue, option: str) -> None:
    if option == "not_now":
        d.say("first_contact.not_now")


def build() -> Flow:
    return Flow(
        "first_contact",
        [
            Choice(
                "safe_to_text",
                "first_contact.safe_to_text",
                routes={"yes": "@who", "not_now": "@end", "danger": "after_danger"},
                on_pick=_not_now,
            ),
            Choice(
                "after_danger",
                "first_contact.after_danger",
                before="words.danger",
                routes={"safe_now": "@who", "text_worker": "@live_chat", "not_now": "@end"},
                on_pick=_not_now,
            ),
        ],
    )
