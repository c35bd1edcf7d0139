"""What the simulator page posts, validated before anything reaches the engine."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9_-]+$"
OPTION_PATTERN = r"^[A-Za-z0-9_.:-]+$"


class SimulatorMessage(BaseModel):
    """What the page posts: typed text, or the id of a pressed button."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=8, max_length=64, pattern=ID_PATTERN)
    text: str | None = Field(default=None, max_length=10_000)
    choice: str | None = Field(default=None, min_length=1, max_length=64, pattern=OPTION_PATTERN)
    # session + ":" + message_id must fit the 128-character provider id column.
    message_id: str | None = Field(default=None, min_length=1, max_length=63, pattern=ID_PATTERN)


class SimulatorPoll(BaseModel):
    """The page asking for a worker's live-chat lines, confirming those up to `after`."""

    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=8, max_length=64, pattern=ID_PATTERN)
    after: int = Field(default=0, ge=0)
