"""The web app's shell: health, the front page, and a page with no outside requests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.content.model import Content
from bot.engine import Engine
from bot.web import app as web_app
from bot.web.app import create_app
from tests.conftest import make_settings


def test_healthz_ok_on_sqlite(sqlite_engine: Engine) -> None:
    response = TestClient(create_app(sqlite_engine)).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_unavailable_when_database_is_gone(tmp_path: Path, content: Content) -> None:
    # Nothing listens on port 1, so the database cannot answer.
    url = "postgresql+psycopg://nobody@127.0.0.1:1/missing"
    engine = Engine(settings=make_settings(tmp_path, url), content=content)
    response = TestClient(create_app(engine)).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_engine_is_built_at_startup_when_not_given(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_app, "get_settings", lambda: make_settings(tmp_path, sqlite_url))
    app = create_app()
    with TestClient(app) as client:
        assert isinstance(app.state.engine, Engine)
        assert client.get("/healthz").json() == {"status": "ok"}


def test_front_page_redirects_to_simulator(sqlite_engine: Engine) -> None:
    response = TestClient(create_app(sqlite_engine)).get("/", follow_redirects=False)
    assert response.status_code in (302, 307)
    assert response.headers["location"] == "/simulator"


def test_simulator_page_makes_no_outside_requests(sqlite_engine: Engine) -> None:
    client = TestClient(create_app(sqlite_engine))
    response = client.get("/simulator")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page, re.IGNORECASE)
    assert tags, "the page should load its own script and stylesheet"
    for tag in tags:
        assert not re.search(r"(?:https?:)?//", tag), tag
    assert 'for="message"' in page
    for asset in ("/static/simulator.js", "/static/simulator.css"):
        served = client.get(asset)
        assert served.status_code == 200
        assert not re.search(r"https?://", served.text), asset


def test_a_crash_shows_a_calm_message_not_a_stack_trace(sqlite_engine: Engine) -> None:
    app = create_app(sqlite_engine)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret words a person wrote")

    for accept in ("application/json", "text/html"):
        response = TestClient(app).get("/boom", headers={"accept": accept})
        assert response.status_code == 500
        assert "Traceback" not in response.text
        assert "secret words" not in response.text


def test_unknown_path_is_calm(sqlite_engine: Engine) -> None:
    response = TestClient(create_app(sqlite_engine)).get("/nothing-here")
    assert response.status_code == 404
    assert "Traceback" not in response.text


@pytest.mark.parametrize(
    ("accept_language", "locale", "direction"),
    [("pl-PL,pl;q=0.9,en;q=0.8", "pl", "ltr"), ("ur", "ur", "rtl"), ("xx, de;q=0.5", "en", "ltr")],
)
def test_the_calm_sentence_comes_in_the_browsers_language(
    sqlite_engine: Engine, accept_language: str, locale: str, direction: str
) -> None:
    response = TestClient(create_app(sqlite_engine)).get(
        "/nothing-here", headers={"accept": "text/html", "accept-language": accept_language}
    )
    assert response.status_code == 404
    assert f'lang="{locale}" dir="{direction}"' in response.text
    assert sqlite_engine.content.text("web.not_found", locale) in response.text
