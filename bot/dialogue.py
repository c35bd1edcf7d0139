"""The conversation while one message is handled: the model a flow Machine binds.

It carries where the person is (flow, state), what the conversation keeps
between messages (`memory`: their answers, the slots, and the bot's typed
notes, bot/conversation_state.py), their language, and collects the replies
to send. Flows read and change it; they never see the channel or the database
directly, only the `requests` port. It knows nothing of flows: a step makes
its own prompt (bot/flows/base.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.conversation_state import ConversationState, FlowNotes
from bot.types import Reply

if TYPE_CHECKING:
    from bot.content.model import Content


class RequestPort(Protocol):
    """What flows may do with callback requests (implemented by storage)."""

    def open_request(self) -> dict[str, Any] | None: ...
    def create(
        self,
        route: str,
        answers: dict[str, Any],
        priority: int,
        flags: list[str],
        triage: list[str] | None = None,
        complete: bool = True,
    ) -> str: ...
    def update(
        self,
        reference: str,
        answers: dict[str, Any],
        priority: int,
        flags: list[str] | None = None,
        triage: list[str] | None = None,
        complete: bool = False,
    ) -> bool: ...
    def withdraw(self, reference: str) -> bool: ...
    def flag(self, codes: list[str], urgent_priority: int) -> bool: ...
    def change_times(self, asap: bool, windows: list[dict[str, str]]) -> bool: ...
    def cancel(self) -> bool: ...


class AccessPort(Protocol):
    """The code-word gate in front of a request (bot/storage/request_access.py).

    `try_word` answers an object with `outcome` ("opened", "wrong" or
    "locked") and the opened `reference`; its replies must not differ for a
    sender who has no request at all."""

    def issue_pin(self) -> str | None: ...
    def try_word(self, word: str, reference: str | None = None) -> Any: ...
    def status(self, reference: str) -> dict[str, Any] | None: ...
    def cancel(self, reference: str) -> bool: ...


class ChatPort(Protocol):
    """What flows may do with live chats with a worker (bot/storage/chats.py,
    `PersonChats`): codes and the person's own words in, nothing else out."""

    def live(self) -> str | None: ...  # "waiting", "open", or None
    def queue(self) -> dict[str, int | None]: ...  # {"ahead": n, "minutes": m or None}
    def start(self, locale: str, signals: list[str]) -> None: ...
    def write(self, text: str, signals: list[str]) -> None: ...
    def note(self, event: str) -> None: ...
    def end(self, outcome: str, drop_unsent: bool = False) -> None: ...
    def leave_message(
        self, text: str, windows: list[dict[str, str]], locale: str, signals: list[str]
    ) -> None: ...
    # A message left out of hours: "waiting" until a worker answers it, then "open".
    def left(self) -> str | None: ...
    def add_to_left(self, text: str, signals: list[str]) -> None: ...
    def end_left(self, outcome: str, drop_unsent: bool = False) -> None: ...


@dataclass
class Facts:
    """What a flow may know about the message without knowing its channel."""

    sender_is_phone: bool
    sender_address: str
    now: datetime
    retention_days: int
    shipped_locales: list[str]
    urgent_priority: int = 3  # a request flagged by the safety screen gets at least this


class Dialogue:
    def __init__(
        self,
        flow: str,
        state: str,
        memory: ConversationState,
        locale: str,
        content: Content,
        facts: Facts,
        requests: RequestPort,
        access: AccessPort | None = None,
        chats: ChatPort | None = None,
    ) -> None:
        self.flow = flow
        self.state = state
        self.memory = memory
        self.locale = locale
        self.content = content
        self.facts = facts
        self.requests = requests
        self.access = access
        self.chats = chats
        self.replies: list[Reply] = []
        self.handoff: str | None = None

    # ----- answers -------------------------------------------------------
    @property
    def slots(self) -> dict[str, Any]:
        """The person's answers: per flow, and for the whole conversation ("audience")."""
        return self.memory.slots

    @property
    def answers(self) -> dict[str, Any]:
        """Answers belonging to the current flow."""
        return self.slots.setdefault(self.flow, {})

    def answers_of(self, flow: str) -> dict[str, Any]:
        return self.slots.get(flow, {})

    @property
    def notes(self) -> FlowNotes:
        """What the current flow keeps for itself beside the answers."""
        return self.memory.notes.setdefault(self.flow, FlowNotes())

    def clear_answers(self) -> FlowNotes:
        """Forget the current flow's answers and notes; its fresh notes."""
        self.answers.clear()
        self.memory.notes[self.flow] = fresh = FlowNotes()
        return fresh

    @property
    def editing(self) -> bool:
        found = self.memory.notes.get(self.flow)
        return found is not None and found.editing

    @property
    def safety_codes(self) -> list[str]:
        """Signals and risk indicators the safety screen found in this conversation."""
        return list(self.memory.safety)

    @property
    def audience(self) -> str | None:
        return self.slots.get("audience")

    def forget_flow(self, flow: str) -> None:
        self.slots.pop(flow, None)
        self.memory.notes.pop(flow, None)

    def forget_everything(self) -> None:
        """Everything unconfirmed goes: answers, notes, history, safety codes."""
        self.memory = ConversationState()

    # ----- replies -------------------------------------------------------
    def say(
        self, key: str, params: dict[str, Any] | None = None, action: str | None = None
    ) -> None:
        self.replies.append(self.content.reply(key, self.locale, params, options=[], action=action))
