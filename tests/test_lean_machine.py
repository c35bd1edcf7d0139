"""LeanMachine (bot/flows/base.py) on its own: a bound model gets `trigger` and
its state and nothing else, triggers move it, conditions and callbacks run.

LeanMachine calls `transitions`' private `Machine._get_trigger`; an upgrade
that renames or reshapes it must fail here, by name, not somewhere deep in a
journey test.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from transitions import EventData, MachineError
from transitions import Machine as StockMachine

from bot.flows.base import LeanMachine


class Model:
    """What Flow.bound binds: a plain object with a state."""

    def __init__(self) -> None:
        self.entered: list[str] = []
        self.allowed = True


def machine(**options: Any) -> LeanMachine:
    entered = lambda event: event.model.entered.append(event.state.name)  # noqa: E731
    return LeanMachine(
        model=None,
        states=[
            {"name": "start", "on_enter": [entered]},
            {"name": "middle", "on_enter": [entered]},
            {"name": "end", "on_enter": [entered]},
        ],
        transitions=[
            {"trigger": "next", "source": "start", "dest": "middle"},
            {"trigger": "next", "source": "middle", "dest": "end"},
            {
                "trigger": "jump",
                "source": "start",
                "dest": "end",
                "conditions": [lambda event: event.model.allowed],
            },
            {"trigger": "jump", "source": "start", "dest": "middle"},
        ],
        initial="start",
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
        **options,
    )


def test_transitions_still_has_the_private_method_lean_machine_uses() -> None:
    method = getattr(StockMachine, "_get_trigger", None)
    assert method is not None, (
        "transitions.Machine._get_trigger is gone: LeanMachine.add_model (bot/flows/base.py) "
        "binds it as the model's `trigger`. Pin transitions back (<0.10 in pyproject.toml) or "
        "rewrite add_model against the new API."
    )
    params = list(inspect.signature(method).parameters)
    assert params[:3] == ["self", "model", "trigger_name"], (
        f"transitions.Machine._get_trigger(self, model, trigger_name, ...) changed to {params}: "
        "LeanMachine.add_model passes (model, trigger_name)."
    )


def test_add_model_gives_only_trigger_and_state() -> None:
    lean, stock = machine(), StockMachine(states=["start", "end"], initial="start")
    model, stock_model = Model(), Model()
    lean.add_model(model)
    stock.add_model(stock_model)
    added = set(vars(model)) - {"entered", "allowed"}
    assert added == {"trigger", "state"}
    assert model.state == "start"
    # The stock machine attaches helpers per state and trigger; the lean one does not.
    assert hasattr(stock_model, "is_start") and not hasattr(model, "is_start")
    assert not hasattr(model, "next") and not hasattr(model, "to_end")


def test_add_model_starts_in_the_state_asked_for() -> None:
    lean = machine()
    model = Model()
    lean.add_model(model, initial="middle")
    assert model.state == "middle"
    assert model.entered == [], "binding at a state does not enter it again"
    assert lean.models[-1] is model


def test_triggers_move_the_model_and_run_on_enter() -> None:
    lean = machine()
    model = Model()
    lean.add_model(model)
    assert model.trigger("next") is True
    assert model.state == "middle"
    model.trigger("next")
    assert model.state == "end"
    assert model.entered == ["middle", "end"]


def test_conditions_choose_the_first_transition_that_holds() -> None:
    lean = machine()
    first, second = Model(), Model()
    second.allowed = False
    lean.add_model(first)
    lean.add_model(second)
    first.trigger("jump")
    second.trigger("jump")
    assert (first.state, second.state) == ("end", "middle")


def test_unknown_and_invalid_triggers_are_errors() -> None:
    lean = machine()
    model = Model()
    lean.add_model(model)
    with pytest.raises(AttributeError, match="Do not know event named 'nope'"):
        model.trigger("nope")
    model.trigger("next")
    model.trigger("next")
    with pytest.raises(MachineError):
        model.trigger("jump")  # no "jump" from "end"


def test_models_bound_to_one_machine_keep_their_own_state() -> None:
    lean = machine()
    a, b = Model(), Model()
    lean.add_model(a)
    lean.add_model(b, initial="middle")
    a.trigger("next")
    assert (a.state, b.state) == ("middle", "middle")
    b.trigger("next")
    assert (a.state, b.state) == ("middle", "end")


def test_remove_model_unbinds() -> None:
    lean = machine()
    model = Model()
    lean.add_model(model)
    lean.remove_model(model)
    assert model not in lean.models


def test_event_data_carries_the_model() -> None:
    seen: list[EventData] = []
    lean = LeanMachine(
        model=None,
        states=["a", {"name": "b", "on_enter": [seen.append]}],
        transitions=[{"trigger": "go", "source": "a", "dest": "b"}],
        initial="a",
        auto_transitions=False,
        send_event=True,
    )
    model = Model()
    lean.add_model(model)
    model.trigger("go")
    assert seen and seen[0].model is model and seen[0].state.name == "b"
