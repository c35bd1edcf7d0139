"""The conversation while one message is handled: the model a flow Machine binds.

It carries where the person is (flow, state), their answers (slots), their
language, and collects the replies to send. Flows read and change it; they
never see the channel or the database directly, only the `requests` port.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.types import Reply

if TYPE_CHECKING:
    from bot.content.model import Content
    from bot.flows.base import Step


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
        slots: dict[str, Any],
        locale: str,
        content: Content,
        facts: Facts,
        requests: RequestPort,
        access: AccessPort | None = None,
        chats: ChatPort | None = None,
    ) -> None:
        self.flow = flow
        self.state = state
        self.slots = slots
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
    def answers(self) -> dict[str, Any]:
        """Answers belonging to the current flow."""
        return self.slots.setdefault(self.flow, {})

    def answers_of(self, flow: str) -> dict[str, Any]:
        return self.slots.get(flow, {})

    @property
    def editing(self) -> bool:
        return bool(self.answers.get("_editing"))

    @property
    def safety_codes(self) -> list[str]:
        """Signals and risk indicators the safety screen found in this conversation."""
        return list(self.slots.get("_safety", []))

    @property
    def audience(self) -> str | None:
        return self.slots.get("audience")

    def forget_flow(self, flow: str) -> None:
        self.slots.pop(flow, None)

    # ----- replies -------------------------------------------------------
    def say(
        self, key: str, params: dict[str, Any] | None = None, action: str | None = None
    ) -> None:
        self.replies.append(self.content.reply(key, self.locale, params, options=[], action=action))

    def offer(self, step: Step) -> dict[str, str]:
        """The options a step offers now, in order, with their labels in this language."""
        if not step.is_choice():
            return {}
        made = step.labels(self) if step.labels else {}  # type: ignore[attr-defined]
        return {
            oid: made[oid] if oid in made else self.content.label(step.key, oid, self.locale)
            for oid in step.options_for(self)  # type: ignore[attr-defined]
        }

    def prompt(self, step: Step) -> None:
        params = step.params(self) if step.params else None
        labels = self.offer(step)
        self.replies.append(
            self.content.reply(
                step.key, self.locale, params, options=list(labels), option_labels=labels
            )
        )
