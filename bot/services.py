"""The app's services: settings, database, vault and content, built once at start-up.

Routes take what they need from here (through small FastAPI dependencies, see
`bot/dashboard/deps.py`) instead of reaching through the engine, so the
dashboard depends on storage and content only, and a test can see at a glance
what a route uses. The engine is kept for the parts that run conversations
(channels, the simulator); the dashboard never touches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.content.model import Content
from bot.settings import Settings
from bot.storage.crypto import Vault
from bot.storage.db import Database

if TYPE_CHECKING:  # only named here; the dashboard imports this module without the engine
    from bot.engine import Engine


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    vault: Vault
    content: Content
    engine: Engine | None = None  # where a conversation is run; None outside the web app

    @property
    def reference_prefix(self) -> str:
        """The letters a callback reference starts with ("FD" in FD-7KQ2)."""
        return str(self.content.data.get("service", {}).get("reference_prefix", "FD"))

    @property
    def teams(self) -> dict[str, str]:
        """The team that calls back in each area: area id -> team."""
        areas = self.content.data.get("areas", {}).get("areas", {})
        return {area_id: area.get("team") for area_id, area in areas.items()}

    @classmethod
    def of(cls, engine: Engine) -> Services:
        """The services an engine was built with (it builds them from the settings)."""
        return cls(engine.settings, engine.db, engine.vault, engine.content, engine)


def services_of(state: Any) -> Services:
    """The services held on an app's `state`, set at start-up by `bot.web.app`."""
    services: Services | None = getattr(state, "services", None)
    if services is None:
        raise RuntimeError("the app's services are not built yet")
    return services
