""" "Is this happening to me?": a few yes/no questions about controlling behaviour.

The questions are the entries of content/flows/reflection.yaml whose names
start with `q_`, in file order, so they can be changed without code. The
answers lead to gentle guidance that never diagnoses, and the offer of a call.
Someone who came as a person who harms and answers yes to any question may be
harmed themselves: from then on their menu and any callback are their own
("me"), not a programme's.
"""

from __future__ import annotations

from bot.content.model import Content
from bot.dialogue import Dialogue
from bot.flows.base import Choice, Flow, Route


def _any_yes(d: Dialogue) -> bool:
    return any(v == "yes" for k, v in d.answers.items() if k.startswith("q_"))


def _clear(d: Dialogue) -> None:
    d.answers.clear()


def _own_route(d: Dialogue) -> None:
    if d.audience == "own_behaviour":
        d.slots["audience"] = "me"


def build(content: Content) -> Flow:
    questions = [k.split(".", 1)[1] for k in content.entries if k.startswith("reflection.q_")]
    steps: list = []
    for index, name in enumerate(questions):
        last = index == len(questions) - 1
        onwards: Route = (
            [(_any_yes, "result_some"), (None, "result_none")] if last else questions[index + 1]
        )
        steps.append(
            Choice(
                name,
                f"reflection.{name}",
                slot=name,
                routes={"yes": onwards, "no": onwards, "not_sure": onwards},
                skippable=True,
                passes_to=onwards if isinstance(onwards, str) else None,
                before="reflection.intro" if index == 0 else None,
                on_arrive=_clear if index == 0 else None,
            )
        )
    for result in ("result_some", "result_none"):
        steps.append(
            Choice(
                result,
                f"reflection.{result}",
                routes={"ask_call": "@callback", "main_menu": "@menu"},
                on_arrive=_own_route if result == "result_some" else None,
            )
        )
    return Flow("reflection", steps)
