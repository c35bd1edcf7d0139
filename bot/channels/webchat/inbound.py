"""What the chat page posts, checked before anything reaches the engine, and the
session tokens that stand for a person.

A token is a random id and a keyed tag (HMAC under the lookup key), so the
server keeps no session table and still refuses tokens it never issued. The
page keeps the token in memory only: nothing is written to the device, and
closing the tab forgets it. The engine's address is the random id.
"""

from __future__ import annotations

import hmac
import re
import secrets

from pydantic import BaseModel, ConfigDict, Field

from bot.storage.crypto import Vault

CHANNEL = "webchat"
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{24}\.[0-9a-f]{32}$"  # noqa: S105 - a shape, not a secret
ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
OPTION_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
LANG_PATTERN = r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})?$"
MAX_TEXT = 2000
COMMANDS = frozenset({"start"})
_TOKEN = re.compile(TOKEN_PATTERN)


class MessageIn(BaseModel):
    """One message from the page: typed text, a pressed option, or "start"."""

    model_config = ConfigDict(extra="forbid")

    token: str | None = Field(default=None, max_length=64)
    id: str = Field(pattern=ID_PATTERN)  # the page's id for this message: a retry repeats it
    text: str = Field(default="", max_length=MAX_TEXT)
    choice: str | None = Field(default=None, pattern=OPTION_PATTERN)
    command: str | None = Field(default=None, max_length=16)
    lang: str | None = Field(default=None, pattern=LANG_PATTERN)


class TokenIn(BaseModel):
    """Exit: only the token."""

    model_config = ConfigDict(extra="forbid")

    token: str | None = Field(default=None, max_length=64)


class PollIn(BaseModel):
    """The page asking for messages waiting for it, confirming those up to `after`."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=64)
    after: int = Field(default=0, ge=0)


def _tag(vault: Vault, session_id: str) -> str:
    return vault.person_key("webchat-token", session_id)[:32]


def issue_token(vault: Vault) -> tuple[str, str]:
    """A new token and the session id (the engine's address) inside it."""
    session_id = secrets.token_urlsafe(18)
    return f"{session_id}.{_tag(vault, session_id)}", session_id


def session_of(vault: Vault, token: str | None) -> str | None:
    """The session id of a token this server issued, else None."""
    if not token or not _TOKEN.match(token):
        return None
    session_id, tag = token.split(".", 1)
    return session_id if hmac.compare_digest(tag, _tag(vault, session_id)) else None


def command_of(value: str | None) -> str | None:
    return value if value in COMMANDS else None
