"""The app's services: settings, database, vault and content, built once at start-up.

`Services.build(settings)` is the one place they are built; the engine takes
them (`Engine(services)`), and so do the dashboard's routes (through small
FastAPI dependencies, see `bot/dashboard/deps.py`) instead of reaching
through the engine, so the dashboard depends on storage and content only,
and a test can see at a glance what a route uses. The engine is kept for the
parts that run conversations (channels, the simulator); the dashboard never
touches it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from bot.content.model import Content, load_content
from bot.settings import Settings
from bot.storage.crypto import Vault
from bot.storage.db import Database
from bot.storage.keys import open_vault

if TYPE_CHECKING:  # only named here; the dashboard imports this module without the engine
    from bot.engine import Engine


class ContentError(RuntimeError):
    """Content that fails to load; `frontdoor content check` says where."""


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    vault: Vault
    content: Content
    engine: Engine | None = None  # where a conversation is run; None outside the web app

    @classmethod
    def build(
        cls,
        settings: Settings,
        content: Content | None = None,
        database: Database | None = None,
    ) -> Services:
        """Load the content (refused with its first problem), open the database and
        the vault (a changed secret stops start-up, clearly). `content` and
        `database` let tests share what is slow to build."""
        content = content or load_content(settings.content_dir, settings.locales_dir)
        if content.problems:
            first = content.problems[0]
            raise ContentError(f"{first.file}:{first.line}: {first.message}")
        db = database or Database(settings.sqlalchemy_url, settings.db_timeout_seconds)
        return cls(settings, db, open_vault(settings, db), content)

    @cached_property  # read once: the content does not change while running
    def reference_prefix(self) -> str:
        """The letters a callback reference starts with ("FD" in FD-7KQ2)."""
        return str(self.content.data.get("service", {}).get("reference_prefix", "FD"))

    @cached_property
    def teams(self) -> dict[str, str]:
        """The team that calls back in each area: area id -> team."""
        areas = self.content.data.get("areas", {}).get("areas", {})
        return {area_id: area.get("team") for area_id, area in areas.items()}

    @classmethod
    def of(cls, engine: Engine) -> Services:
        """The services an engine was built with, naming the engine (the web app's)."""
        return replace(engine.services, engine=engine)


def services_of(state: Any) -> Services:
    """The services held on an app's `state`, set at start-up by `bot.web.app`."""
    services: Services | None = getattr(state, "services", None)
    if services is None:
        raise RuntimeError("the app's services are not built yet")
    return services
