"""What one conversation keeps between messages, sealed as one JSON value.

`slots` are the person's answers: per flow (`slots["callback"]`) and for the
whole conversation ("audience", "age_group"). Beside them the bot keeps its
own notes, typed: where BACK leads (`history`), the safety screen's codes
(never words) and, per flow, what a flow keeps for itself (`FlowNotes`), so a
person's answers stay a plain dict of their answers.

Stored shape: the slots at the top level and the notes under one key, "kept",
written only when there is something to keep (a fresh conversation is `{}`,
which the worker's wipe of idle answers relies on). The release before this
one kept the notes as free-form keys among the slots ("_history", "_safety",
and "_reference", "_editing"... inside a flow's answers): `from_json` reads
that shape too, so a conversation stored by it carries on where it was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

KEPT = "kept"  # the notes' key among the slots (no flow or answer has this name)
HISTORY_LIMIT = 20  # places BACK can return to


@dataclass
class FlowNotes:
    """What a flow keeps for itself beside the person's answers."""

    editing: bool = False  # one section is being changed from the summary (callback)
    reference: str | None = None  # the draft request saved so far (callback)
    saved: str | None = None  # what that draft last held: an unchanged answer saves nothing
    confirmed: dict[str, str] | None = None  # reference and time shown at confirmation
    phone_unsure: bool = False  # a possible number outside the known ranges: read it back
    reminded: bool = False  # the urgent reminder was said once (triage)
    days: list[int] | None = None  # the days given before the time of day (safe times)
    typed: str | None = None  # what a typed "when" gave: "days" or "time" (safe times)
    told: bool = False  # the first line written in a waiting chat was answered (live chat)
    when: str | None = None  # when a worker will answer the message left, as said (live chat)

    def to_json(self) -> dict[str, Any]:
        """Only what differs from a fresh flow, so an untouched flow keeps nothing."""
        fresh = FlowNotes()
        return {k: v for k, v in asdict(self).items() if v != getattr(fresh, k)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlowNotes:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


# The previous release's private keys inside a flow's answers -> FlowNotes fields.
OLD_NOTE_KEYS = {f"_{f.name}": f.name for f in fields(FlowNotes)}


@dataclass
class ConversationState:
    """The person's answers and the bot's notes on one conversation."""

    slots: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)  # "flow:state" places, newest last
    safety: list[str] = field(default_factory=list)  # the safety screen's codes, sorted
    notes: dict[str, FlowNotes] = field(default_factory=dict)  # flow -> its notes

    def push(self, place: str) -> None:
        """Remember a place BACK can return to; only the last HISTORY_LIMIT are kept."""
        self.history.append(place)
        del self.history[:-HISTORY_LIMIT]

    def to_json(self) -> dict[str, Any]:
        out = dict(self.slots)
        kept: dict[str, Any] = {}
        if self.history:
            kept["history"] = list(self.history)
        if self.safety:
            kept["safety"] = list(self.safety)
        notes = {flow: n.to_json() for flow, n in self.notes.items()}
        notes = {flow: data for flow, data in notes.items() if data}
        if notes:
            kept["notes"] = notes
        if kept:
            out[KEPT] = kept
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConversationState:
        """The stored value, in this shape or the previous release's."""
        slots = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
        kept: dict[str, Any] = slots.pop(KEPT, None) or {}
        # The previous shape: "_history" and "_safety" among the slots...
        history = list(kept.get("history", slots.pop("_history", None) or []))
        safety = list(kept.get("safety", slots.pop("_safety", None) or []))
        notes = {
            flow: FlowNotes.from_json(value) for flow, value in (kept.get("notes") or {}).items()
        }
        # ... and a flow's own notes among its answers ("_reference", "_editing"...).
        for flow, answers in slots.items():
            if not isinstance(answers, dict):
                continue
            old = {new: answers.pop(key) for key, new in OLD_NOTE_KEYS.items() if key in answers}
            if old:
                base = notes[flow].to_json() if flow in notes else {}
                notes[flow] = FlowNotes.from_json({**old, **base})
        return cls(slots, history, safety, notes)
