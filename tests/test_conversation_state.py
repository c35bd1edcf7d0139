"""The conversation's stored state: typed notes beside the person's answers, and a
conversation stored by the previous release (notes as "_" keys among the
answers) carries on where it was."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from bot.conversation_state import HISTORY_LIMIT, KEPT, ConversationState, FlowNotes
from bot.storage.binding import conversation_slots
from bot.storage.models import CallbackRequest, Conversation
from tests.conftest import Chat
from tests.test_journeys import give_number, open_callback

# What the previous release stored for someone part-way through a callback request.
PREVIOUS = {
    "audience": "me",
    "_history": ["info:menus.me", "callback:consent", "callback:number_check"],
    "_safety": ["crisis"],
    "callback": {
        "phone": "+447700900123",
        "asap": False,
        "windows": [{"day": "mon", "start": "09:00", "end": "12:00"}],
        "_reference": "FD-7KQ2",
        "_saved": "saved-answers",
        "_editing": True,
        "_days": [0, 2],
        "_typed": "days",
        "_phone_unsure": True,
        "_reminded": True,
        "triage": {"strangled": True},
    },
    "live_chat": {"_told": True},  # the live chat's note: the first line was answered
}


def test_the_previous_shape_is_read_into_answers_and_typed_notes() -> None:
    state = ConversationState.from_json(PREVIOUS)
    assert state.slots == {
        "audience": "me",
        "callback": {
            "phone": "+447700900123",
            "asap": False,
            "windows": [{"day": "mon", "start": "09:00", "end": "12:00"}],
            "triage": {"strangled": True},
        },
        "live_chat": {},
    }
    assert state.history == ["info:menus.me", "callback:consent", "callback:number_check"]
    assert state.safety == ["crisis"]
    assert state.notes == {
        "callback": FlowNotes(
            editing=True,
            reference="FD-7KQ2",
            saved="saved-answers",
            phone_unsure=True,
            reminded=True,
            days=[0, 2],
            typed="days",
        ),
        "live_chat": FlowNotes(told=True),
    }
    assert "_reference" in PREVIOUS["callback"], "reading never changes what was stored"


def test_the_state_goes_through_json_unchanged() -> None:
    state = ConversationState.from_json(PREVIOUS)
    stored = state.to_json()
    assert not any(key.startswith("_") for key in stored)
    assert not any(key.startswith("_") for key in stored["callback"])
    assert stored[KEPT]["notes"]["callback"]["reference"] == "FD-7KQ2"
    assert ConversationState.from_json(stored) == state


def test_a_fresh_conversation_is_stored_as_an_empty_object() -> None:
    """The worker finds idle answers to wipe by a sealed `{}`'s length."""
    assert ConversationState().to_json() == {}
    assert ConversationState.from_json({}) == ConversationState()
    untouched = ConversationState(notes={"callback": FlowNotes()})
    assert untouched.to_json() == {}


def test_back_remembers_only_the_last_places() -> None:
    state = ConversationState()
    for n in range(HISTORY_LIMIT + 5):
        state.push(f"info:topic_{n}")
    assert len(state.history) == HISTORY_LIMIT
    assert state.history[-1] == f"info:topic_{HISTORY_LIMIT + 4}"


# ----- a conversation stored by the previous release, carried on ---------------


def _row(chat: Chat) -> tuple[str, Any]:
    vault = chat.engine.vault
    key = vault.person_key(chat.channel, chat.address)
    return key, vault


def stored(chat: Chat) -> dict[str, Any]:
    key, vault = _row(chat)
    with Session(chat.engine.db.engine) as session:
        row = session.execute(
            select(Conversation).where(Conversation.person_key == key)
        ).scalar_one()
        return dict(vault.open(row.slots_enc, conversation_slots(key)))


def as_previous_release(chat: Chat) -> dict[str, Any]:
    """Rewrite the stored state in the previous release's shape; returns it."""
    key, vault = _row(chat)
    with Session(chat.engine.db.engine) as session:
        row = session.execute(
            select(Conversation).where(Conversation.person_key == key)
        ).scalar_one()
        data = vault.open(row.slots_enc, conversation_slots(key))
        kept = data.pop(KEPT, {})
        if kept.get("history"):
            data["_history"] = kept["history"]
        if kept.get("safety"):
            data["_safety"] = kept["safety"]
        for flow, notes in kept.get("notes", {}).items():
            data.setdefault(flow, {}).update({f"_{name}": value for name, value in notes.items()})
        row.slots_enc = vault.seal(data, conversation_slots(key))
        session.add(row)
        session.commit()
    return data


def requests(chat: Chat) -> list[CallbackRequest]:
    with Session(chat.engine.db.engine) as session:
        return list(session.execute(select(CallbackRequest)).scalars())


def test_a_draft_stored_by_the_previous_release_is_carried_on(chat: Chat) -> None:
    chat.start("me")
    open_callback(chat)
    give_number(chat)
    chat.pick("choose")
    chat.send("Monday and wed")
    assert chat.key == "callback.window"
    old = as_previous_release(chat)
    assert old["callback"]["_days"] == [0, 2] and "_history" in old  # the control: old shape
    assert KEPT not in stored(chat)

    chat.pick("morning")  # the days typed before the old release stored them still count
    assert chat.key.startswith("triage.")
    [first] = requests(chat)
    assert {w["day"] for w in first.safe_windows} == {"mon", "wed"}

    old = as_previous_release(chat)
    assert old["callback"]["_reference"] == first.reference
    chat.pick("no")  # the next answer updates that draft: no twin request
    [again] = requests(chat)
    assert again.reference == first.reference
    after = stored(chat)
    assert after[KEPT]["notes"]["callback"]["reference"] == first.reference
    assert not any(key.startswith("_") for key in after["callback"])

    as_previous_release(chat)
    before_back = chat.key
    chat.send("back")  # BACK follows the history the old release kept
    assert chat.key != before_back and chat.key.startswith("triage.")
