"""The app's start-up settles what it built out of the collector's sight
(gc.freeze) and lets it go at shutdown. Every other test skips that step
(tests/conftest.py `_quick_app_start`): it costs about a second per app."""

from __future__ import annotations

import gc

import pytest
from fastapi.testclient import TestClient

from bot.engine import Engine
from bot.web.app import create_app


@pytest.mark.real_start_up
def test_start_up_freezes_what_it_built_and_shutdown_lets_it_go(sqlite_engine: Engine) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with TestClient(create_app(sqlite_engine)) as client:
        assert gc.get_freeze_count() > 0
        assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() == 0


def test_other_tests_start_the_app_without_it(sqlite_engine: Engine) -> None:
    gc.unfreeze()
    with TestClient(create_app(sqlite_engine)):
        assert gc.get_freeze_count() == 0
