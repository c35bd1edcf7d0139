"""The services are built in one place (`Services.build`) and the engine runs on
them: it builds no database, vault or content of its own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlmodel import Session

from bot.engine import Engine
from bot.services import Services
from bot.storage.models import CallbackRequest
from tests.dashboard_support import SAFE_ANSWERS


def test_an_engine_runs_on_the_services_it_is_given(sqlite_engine: Engine) -> None:
    services = Services.build(sqlite_engine.settings, sqlite_engine.content, sqlite_engine.db)
    engine = Engine(services)
    assert engine.services is services
    assert (engine.db, engine.vault, engine.content) == (
        services.db,
        services.vault,
        services.content,
    )
    held = Services.of(engine)  # what the web app holds: the same, naming the engine
    assert held.engine is engine and held.db is services.db and held.vault is services.vault
    with pytest.raises(TypeError):
        Engine(services, settings=services.settings)


def test_a_request_takes_its_prefix_and_team_from_the_services(sqlite_engine: Engine) -> None:
    services = sqlite_engine.services
    assert services.teams["basildon"] == "essex_south"
    now = datetime.now(UTC)
    with sqlite_engine.db.session() as session:
        person = sqlite_engine.vault.person_key("sms", "+447700900999")
        store = sqlite_engine.request_store(session, person, "sms", now)
        reference = store.create("me", {**SAFE_ANSWERS, "area": "basildon"}, 1)
        session.commit()
    assert reference.startswith(f"{services.reference_prefix}-")
    with Session(sqlite_engine.db.engine) as session:
        found = session.execute(
            select(CallbackRequest).where(CallbackRequest.reference == reference)
        ).scalar_one()
        assert found.team == "essex_south"
