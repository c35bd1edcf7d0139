"""Risk triage inside a callback request: a few yes/no questions per route.

The questions come from content/flows/triage.yaml (`<route>_<code>`), in file
order, drawn from the DASH key indicators. This is triage, not a DASH score:
the weights of "yes" answers add up to the queue priority, and one "yes" to
strangulation, threats to kill or a weapon makes the request urgent alone.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.content.model import Content
from bot.dialogue import Dialogue
from bot.flows.base import Choice, Step
from bot.safety.patterns import SIGNALS

ROUTES = ("me", "someone_else", "own_behaviour", "professional")
URGENT_ALONE = ("strangled", "threats_to_kill", "weapon")
SLOT = "triage"  # {code: True/False} in the callback's answers


def route(d: Dialogue) -> str:
    return d.audience if d.audience in ROUTES else "me"


def is_young(d: Dialogue) -> bool:
    """16 or 17 (from the who/support flows), or a child by the safety screen."""
    return d.slots.get("age_group") == "16_17" or "child" in d.safety_codes


def questions(content: Content) -> list[tuple[str, str, str]]:
    """(step name, route, code) for every triage entry, in file order."""
    out = []
    for key in content.entries:
        if not key.startswith("triage."):
            continue
        name = key.split(".", 1)[1]
        for r in ROUTES:
            if name.startswith(r + "_"):
                out.append((f"triage_{name}", r, name[len(r) + 1 :]))
                break
    return out


def _applies(for_route: str, code: str) -> Callable[[Dialogue], bool]:
    def applies(d: Dialogue) -> bool:
        return route(d) == for_route and not (code == "pregnant" and is_young(d))

    return applies


def count(content: Content, d: Dialogue) -> int:
    """How many triage questions this person will be asked."""
    return sum(1 for _, r, code in questions(content) if _applies(r, code)(d))


def yes_codes(d: Dialogue) -> list[str]:
    return sorted(code for code, said in d.answers.get(SLOT, {}).items() if said)


def priority(content: Content, d: Dialogue) -> int:
    """Sum of the weights of "yes" answers; urgent alone for the key three, or
    for a danger, crisis, child or harm-risk signal from the safety screen."""
    r = route(d)
    said = yes_codes(d)
    total = sum(content.entry(f"triage.{r}_{code}").weight for code in said)
    if any(code in URGENT_ALONE for code in said) or any(c in SIGNALS for c in d.safety_codes):
        total = max(total, d.facts.urgent_priority)
    return total


def _intro(content: Content, r: str, then: Callable[[Dialogue], None]):  # noqa: ANN202
    def arrive(d: Dialogue) -> None:
        then(d)
        if route(d) == r and not d.editing:
            d.say("callback.triage_intro", {"count": count(content, d)})

    return arrive


def steps(
    content: Content, then: str, skip_all: str, arrive: Callable[[Dialogue], None]
) -> list[Step]:
    """One Choice per question; "skip these questions" leads to `skip_all`.
    `arrive` runs on reaching each (the callback saves its progress there)."""
    found = questions(content)
    out: list[Step] = []
    for index, (name, r, code) in enumerate(found):
        onwards = found[index + 1][0] if index + 1 < len(found) else then
        first_of_route = index == 0 or found[index - 1][1] != r

        def keep(d: Dialogue, option: str, code: str = code, r: str = r) -> None:
            if option == "skip_all":
                return
            d.answers.setdefault(SLOT, {})[code] = option == "yes"
            weight = content.entry(f"triage.{r}_{code}").weight
            serious = code in URGENT_ALONE or weight >= 3
            if option == "yes" and serious and not d.notes.reminded:
                d.notes.reminded = True
                d.say("callback.urgent_reminder" if r == "me" else "callback.urgent_reminder_other")

        out.append(
            Choice(
                name,
                f"triage.{r}_{code}",
                routes={"yes": onwards, "no": onwards, "skip_all": skip_all},
                on_pick=keep,
                applies=_applies(r, code),
                skippable=True,
                passes_to=onwards,
                section="triage",
                on_arrive=_intro(content, r, arrive) if first_of_route else arrive,
            )
        )
    return out
