"""A reference is never given twice, even after its request was deleted."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete

from bot.engine import Engine
from bot.storage import requests as store_module
from bot.storage.models import CallbackRequest
from tests.dashboard_support import SAFE_ANSWERS


def _create(engine: Engine, person: str) -> str:
    now = datetime.now(UTC)
    with engine.db.session() as session:
        store = engine.request_store(session, engine.vault.person_key("sms", person), "sms", now)
        reference = store.create("me", dict(SAFE_ANSWERS), 0)
        session.commit()
    return reference


def test_a_purged_requests_reference_is_never_given_again(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn = itertools.chain(["FD-AAAA", "FD-AAAA", "FD-BBBB"])
    monkeypatch.setattr(store_module, "new_reference", lambda _prefix: next(drawn))
    first = _create(engine, "p1")
    with engine.db.session() as session:  # retention has run: the request is gone
        session.execute(delete(CallbackRequest))
        session.commit()
    second = _create(engine, "p2")
    assert (first, second) == ("FD-AAAA", "FD-BBBB")
