"""The engine's channel-neutral vocabulary: what comes in and what goes out.

Channels turn provider payloads into `Inbound` and render each `Reply` for
their medium; flows produce replies without knowing which channel carries
them. Both sides import only this module, never each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message from a person, as a channel hands it to the engine."""

    channel: str  # "sms", "telegram", "simulator", "terminal"
    address: str  # the sender's address on that channel (phone number, chat id)
    text: str
    message_id: str  # the provider's id; a repeat of it is answered from storage
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    choice: str | None = None  # an option id when the person pressed a button
    address_is_phone: bool = False  # True when `address` is a number we could call
    locale_hint: str | None = None  # e.g. Telegram's language_code
    # A command the channel recognised itself (Telegram's /menu): "start",
    # "help", "menu", "back", "language" or "exit"; wins over the text.
    command: str | None = None
    # True when the channel sends the replies itself after the turn (Telegram,
    # not SMS's TwiML answer): the engine then keeps what is needed to finish
    # sending them if sending fails (bot/storage/deliveries).
    sent_by_channel: bool = False
    # The sender's person key (a keyed hash of channel and address) when the
    # channel already made it for this message; the engine makes it otherwise.
    # Made once per message, never stored with the message.
    person_key: str | None = None


@dataclass(frozen=True, slots=True)
class Option:
    """One answer a person can pick: a stable id and its label in their language."""

    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to send back, already in the person's language.

    `sms` is plain GSM-friendly text; `rich` may carry light formatting
    (**bold**) for Telegram and the web. `action` tells a channel about
    something beyond text, e.g. "quick_exit" so Telegram can wipe the chat.
    """

    key: str
    sms: str
    rich: str
    locale: str
    options: tuple[Option, ...] = ()
    action: str | None = None
    direction: str = "ltr"

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "sms": self.sms,
            "rich": self.rich,
            "locale": self.locale,
            "options": [{"id": o.id, "label": o.label} for o in self.options],
            "action": self.action,
            "direction": self.direction,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reply:
        options = tuple(Option(**o) for o in data.get("options", ()))
        return cls(**{**data, "options": options})
