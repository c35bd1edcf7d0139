"""Building blocks of a flow, turned once into one `transitions` Machine.

A flow is an ordered list of steps. Each step is a state of the flow's
Machine and names the content entry it shows. Steps answer in two ways:

- `Choice`: the person picks an option; the option id is the trigger.
- `Ask`: the person types an answer; a parser turns it into a slot value or a
  content key explaining what was wrong; the trigger is `answer` (or `skip`).

Targets name where a step leads: a step of the same flow (`"voicemail"`),
another flow (`"@callback"`, `"@info:menus.me"`), the person's own main menu
(`"@menu"`) or the end of the conversation (`"@end"`). Targets outside the
flow become states of the Machine too; entering one hands the conversation
over, which the engine carries out.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from transitions import EventData, Machine

if TYPE_CHECKING:
    from collections.abc import Iterator

    from transitions.core import StateIdentifier

    from bot.dialogue import Dialogue

Predicate = Callable[["Dialogue"], bool]
Params = Callable[["Dialogue"], dict[str, Any]]
# Where an answer leads: one state, or the first (condition, state) whose condition holds.
Route = str | list[tuple[Predicate | None, str]]


@dataclass(frozen=True)
class Parsed:
    """What a parser made of free text: a value to keep, or why it was refused."""

    value: Any = None
    error: str | None = None  # content key of a calm explanation
    error_params: dict[str, Any] | None = None


Parser = Callable[["Dialogue", str], Parsed]


@dataclass
class Step:
    name: str
    key: str  # content entry shown on entering the step
    slot: str | None = None  # where the answer is kept (in the flow's slots)
    applies: Predicate | None = None  # when False the step is passed through
    before: str | None = None  # content entry said just before the prompt
    params: Params | None = None  # values for {placeholders} in the prompt
    section: str = ""  # steps of one section are changed together from a summary
    on_arrive: Callable[[Dialogue], None] | None = None  # runs before the prompt
    passes_to: str | None = None  # where the step leads when it does not apply
    skippable: bool = False  # may the person answer SKIP
    after_prompt: Callable[[Dialogue], None] | None = None  # runs after the prompt is made
    # Free text that may carry a disclosure (the note): a message the safety
    # screen flags is still kept as the answer here, never swallowed.
    keeps_disclosure: bool = False
    # Where an answer goes when it is the flow's own note rather than an answer
    # to keep (the days before the time of day); given None on SKIP.
    keep: Callable[[Dialogue, Any], None] | None = None

    def offer(self, dialogue: Dialogue) -> dict[str, str]:
        """The options this step offers now, in order, with their labels."""
        return {}

    def prompt(self, dialogue: Dialogue) -> None:
        """Say this step's question, with its options, in the person's language."""
        params = self.params(dialogue) if self.params else None
        labels = self.offer(dialogue)
        dialogue.replies.append(
            dialogue.content.reply(
                self.key, dialogue.locale, params, options=list(labels), option_labels=labels
            )
        )


@dataclass
class Choice(Step):
    # option id -> target; a list of (predicate, target) picks the first that holds
    routes: dict[str, Route] = field(default_factory=dict)
    shown: Callable[[Dialogue], list[str]] | None = None  # which options to offer
    labels: Callable[[Dialogue], dict[str, str]] | None = None  # labels made at run time
    on_pick: Callable[[Dialogue, str], None] | None = None  # side effect of a pick
    values: dict[str, Any] | None = None  # what to keep in `slot` per option (else its id)

    def options_for(self, dialogue: Dialogue) -> list[str]:
        return self.shown(dialogue) if self.shown else list(self.routes)

    def offer(self, dialogue: Dialogue) -> dict[str, str]:
        made = self.labels(dialogue) if self.labels else {}
        content, locale = dialogue.content, dialogue.locale
        return {
            oid: made[oid] if oid in made else content.label(self.key, oid, locale)
            for oid in self.options_for(dialogue)
        }


@dataclass
class Ask(Step):
    parse: Parser | None = None
    then: str = ""
    skip_to: str | None = None  # where SKIP leads, when not `then`


EXTERNAL_PREFIX = "@"


class LeanMachine(Machine):
    """A Machine whose binding gives a model only `trigger` and its state.

    Plain `add_model` also attaches an `is_<state>` helper per state and a
    method per trigger; with ~70 info states that made binding cost more than
    handling the message. Nothing here uses those helpers.
    """

    def add_model(self, model: Any, initial: StateIdentifier | None = None) -> None:
        model.trigger = partial(self._get_trigger, model)
        state = initial or self.initial
        assert state is not None, "every flow's machine has an initial state"
        self.set_state(state, model=model)
        self.models.append(model)


class Flow:
    """One flow: its steps and the Machine built from them, once, at start-up."""

    def __init__(self, name: str, steps: list[Step], initial: str | None = None) -> None:
        self.name = name
        self.steps = {step.name: step for step in steps}
        self.order = [step.name for step in steps]
        self.initial = initial or steps[0].name
        self.machine = self._build()

    # ----- building ------------------------------------------------------
    def _next_after(self, name: str) -> str:
        index = self.order.index(name)
        return self.order[index + 1] if index + 1 < len(self.order) else "@menu"

    def _transitions(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        summary = "summary" if "summary" in self.steps else None
        for name in self.order:
            step = self.steps[name]
            default = self._next_after(name)
            if isinstance(step, Choice):
                for option_id, route in step.routes.items():
                    out.extend(self._edges(option_id, name, route, summary))
            elif isinstance(step, Ask):
                out.extend(self._edges("answer", name, step.then or default, summary))
                out.extend(self._edges("skip", name, step.skip_to or step.then or default, summary))
            # Every step can be passed through (it does not apply, or was skipped).
            passed = step.passes_to or self._usual_next(step, default)
            out.extend(self._edges("pass_by", name, passed, summary))
        return out

    @staticmethod
    def _usual_next(step: Step, default: str) -> str:
        """Where a step usually leads: an Ask's `then`, or most of a Choice's options."""
        if isinstance(step, Ask):
            return step.then or default
        if isinstance(step, Choice) and step.routes:
            dests = [r[-1][1] if isinstance(r, list) else r for r in step.routes.values()]
            return max(dests, key=dests.count)
        return default

    def _edges(
        self, trigger: str, source: str, route: Any, summary: str | None
    ) -> list[dict[str, Any]]:
        routes = route if isinstance(route, list) else [(None, route)]
        edges: list[dict[str, Any]] = []
        for predicate, dest in routes:
            if summary and self._ends_section(source, dest):
                # While changing one section from the summary, its last step returns there.
                edges.append(
                    {
                        "trigger": trigger,
                        "source": source,
                        "dest": summary,
                        "conditions": [_when(lambda d: d.editing)] + _maybe(predicate),
                    }
                )
            edges.append(
                {
                    "trigger": trigger,
                    "source": source,
                    "dest": dest,
                    "conditions": _maybe(predicate),
                }
            )
        return edges

    def _ends_section(self, source: str, dest: str) -> bool:
        """True when `dest` starts another section of questions than `source`."""
        here = self.steps[source].section
        there = self.steps[dest].section if dest in self.steps else ""
        return bool(here) and bool(there) and there != here

    def _build(self) -> Machine:
        transitions = self._transitions()
        external = sorted({t["dest"] for t in transitions if t["dest"].startswith(EXTERNAL_PREFIX)})
        states = [{"name": name, "on_enter": [self._on_enter]} for name in self.order] + [
            {"name": target, "on_enter": [self._on_handoff]} for target in external
        ]
        for t in transitions:
            if t["dest"] not in self.steps and not t["dest"].startswith(EXTERNAL_PREFIX):
                raise ValueError(f"flow {self.name}: {t['source']} leads to unknown {t['dest']}")
        return LeanMachine(
            model=None,
            states=states,
            transitions=transitions,
            initial=self.initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )

    # ----- running -------------------------------------------------------
    @contextmanager
    def bound(self, dialogue: Dialogue, state: str) -> Iterator[Bound]:
        """Bind a conversation to this flow's Machine while one message is handled.

        A fresh `Bound` model is used for each binding because a Machine leaves
        its helper methods on a model after `remove_model`.
        """
        model = Bound(dialogue)
        self.machine.add_model(model, initial=state)
        try:
            yield model
        finally:
            self.machine.remove_model(model)
            dialogue.flow, dialogue.state = self.name, model.state

    def targets(self) -> dict[str, list[str]]:
        """Every state and where its triggers lead (for the content check)."""
        graph: dict[str, list[str]] = {name: [] for name in self.order}
        for t in self._transitions():
            graph[t["source"]].append(t["dest"])
        return graph

    def enter(self, dialogue: Dialogue, state: str) -> None:
        """Arrive at a state from outside this flow (a hand-over, BACK, a restart)."""
        with self.bound(dialogue, state) as model:
            self._arrive(model, self.steps[state])

    def fire(self, dialogue: Dialogue, trigger: str) -> None:
        with self.bound(dialogue, dialogue.state) as model:
            model.trigger(trigger)

    def _on_enter(self, event: EventData) -> None:
        self._arrive(_bound(event), self.steps[event.state.name])

    def _arrive(self, model: Bound, step: Step) -> None:
        dialogue = model.dialogue
        if step.on_arrive:
            step.on_arrive(dialogue)
        if step.applies is not None and not step.applies(dialogue):
            model.trigger("pass_by")
            return
        if step.before:
            dialogue.say(step.before)
        step.prompt(dialogue)
        if step.after_prompt:
            step.after_prompt(dialogue)

    def _on_handoff(self, event: EventData) -> None:
        _bound(event).dialogue.handoff = event.state.name


class Bound:
    """The object a Machine binds for one message; it points at the conversation."""

    def __init__(self, dialogue: Dialogue) -> None:
        self.dialogue = dialogue
        self.state = dialogue.state

    trigger: Callable[..., bool]


def _maybe(predicate: Predicate | None) -> list[Callable[[EventData], bool]]:
    return [] if predicate is None else [_when(predicate)]


def _when(predicate: Predicate) -> Callable[[EventData], bool]:
    return lambda event: bool(predicate(_bound(event).dialogue))


def _bound(event: EventData) -> Bound:
    """The model a Machine event carries: always a `Bound` here."""
    return cast(Bound, event.model)
