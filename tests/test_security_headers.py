"""Security headers on every route, no-store on every page, and the Host check.

The app is built with every router on (SMS, Telegram webhook, simulator,
dashboard, health) and the routes are read from the app itself, so a route
added later is covered without touching this file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from bot.content.model import Content
from bot.engine import Engine
from bot.storage.migrate import upgrade
from bot.web import security_headers as sh
from bot.web.app import create_app
from tests.conftest import make_settings
from tests.dashboard_support import TUESDAY_10 as NOW
from tests.dashboard_support import add_user, csrf_of, make_request, sign_in

PUBLIC = "https://frontdoor.example.org"
LONG_SECRET = "a-long-random-production-secret-0123456789abcdefghij"
TEMPLATE_DIRS = [
    Path(__file__).resolve().parent.parent / "bot" / part / "templates"
    for part in ("dashboard", "web")
]


def full_engine(engine: Engine, **overrides: object) -> Engine:
    """The same database with every channel on."""
    settings = engine.settings.model_copy(
        update={
            "twilio_account_sid": "AC" + "0" * 32,
            "twilio_auth_token": "test-auth-token-0123456789abcdef",
            "twilio_from": "+447700900999",
            "telegram_bot_token": "123456:TEST-token",
            "telegram_webhook_secret": "test-webhook-secret",
            "public_base_url": PUBLIC,
            **overrides,
        }
    )
    return Engine(settings=settings, content=engine.content, database=engine.db)


@pytest.fixture
def app(sqlite_engine: Engine) -> Iterator[FastAPI]:
    built = full_engine(sqlite_engine)
    add_user(built, "alice", "handler")
    yield create_app(built)


WALKED_AND_SERVED = (
    "/healthz",
    "/simulator",
    "/simulator/messages",
    "/sms/inbound",
    "/sms/status",
    "/dashboard",
    "/dashboard/login",
    "/static/dashboard.css",
)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "FD-NONE", path)


def every_route(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) for every route and mount the app serves."""
    return sorted(set(_walk(app.routes, "")))


def _walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, APIRoute):
            for method in route.methods:
                yield method, concrete(prefix + route.path)
        elif isinstance(route, Mount):
            yield "GET", prefix + route.path + "/dashboard.css"
        elif hasattr(route, "original_router"):  # FastAPI >= 0.165 includes routers lazily
            yield from _walk(route.original_router.routes, prefix + route.include_context.prefix)
        else:
            raise AssertionError(f"a route this test cannot walk: {route!r}")


def assert_protected(response, path: str, *, https: bool = True) -> None:  # noqa: ANN001
    headers = response.headers
    policy = headers["content-security-policy"]
    if path.startswith(sh.OWN_POLICY_PREFIXES) and policy != sh.CONTENT_SECURITY_POLICY:
        # The web chat page's own policy (tests/test_webchat.py checks it in full).
        assert "script-src 'self';" in policy and "unsafe" not in policy, path
        assert "frame-ancestors 'none'" in policy, path  # no site is listed by default
    else:
        assert policy == sh.CONTENT_SECURITY_POLICY, path
    assert headers["x-frame-options"] == "DENY", path
    assert headers["x-content-type-options"] == "nosniff", path
    assert headers["referrer-policy"] == "no-referrer", path
    if https:
        assert headers["strict-transport-security"] == sh.HSTS, path
    else:
        assert "strict-transport-security" not in headers, path
    if path.startswith("/static/"):
        assert headers.get("cache-control") != "no-store", path
    else:
        assert headers["cache-control"] == "no-store", path


def test_the_policy_allows_no_inline_or_evaluated_code() -> None:
    directives = dict(part.strip().split(" ", 1) for part in sh.CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    for loose in ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "data:", "*"):
        assert loose not in sh.CONTENT_SECURITY_POLICY


def test_every_route_carries_every_header(app: FastAPI) -> None:
    routes = every_route(app)
    paths = {path for _, path in routes}
    # The app really has every part on, or this test would prove little.
    for expected in WALKED_AND_SERVED:
        assert expected in paths, expected
    assert any(path.startswith("/telegram") for path in paths), paths
    client = TestClient(app)
    for method, path in routes:
        response = client.request(method, path, follow_redirects=False)
        if path in WALKED_AND_SERVED:  # the walk found real routes, not phantoms
            assert response.status_code != 404, (method, path)
        assert_protected(response, path)


def test_signed_in_pages_and_fragments_are_no_store(app: FastAPI, sqlite_engine: Engine) -> None:
    reference = make_request(sqlite_engine, NOW)
    client = TestClient(app, base_url=PUBLIC)  # cookies are Secure: the address is https
    assert sign_in(client, "alice").status_code == 303
    csrf = csrf_of(client.get("/dashboard").text)
    for path in (
        "/dashboard",
        "/dashboard/queue/rows",
        f"/dashboard/requests/{reference}",
        f"/dashboard/requests/{reference}/live",
        f"/dashboard/requests/{reference}/audit",
    ):
        response = client.get(path, headers={"HX-Request": "true"})
        assert response.status_code in (200, 403), (path, response.status_code)
        assert_protected(response, path)
    claimed = client.post(
        f"/dashboard/requests/{reference}/claim", data={"csrf_token": csrf}, follow_redirects=True
    )
    assert "bluebell" in claimed.text  # the code word is on this page...
    assert_protected(claimed, "/dashboard/requests")  # ...which no cache may keep
    signed_out = client.post("/dashboard/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert_protected(signed_out, "/dashboard/logout")


def test_errors_carry_the_headers_too(app: FastAPI) -> None:
    client = TestClient(app)
    for response, path in (
        (client.get("/no-such-page", headers={"Accept": "text/html"}), "/no-such-page"),
        (client.post("/simulator/messages", content=b"{not json"), "/simulator/messages"),
        (client.get("/dashboard", headers={"Host": "evil.example"}), "/dashboard"),
    ):
        assert response.status_code >= 400
        assert_protected(response, path)
    page = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert "style=" not in page.text and "<script" not in page.text


def test_no_hsts_when_the_public_address_is_plain_http(sqlite_engine: Engine) -> None:
    for base in ("", "http://frontdoor.example.org"):
        app = create_app(full_engine(sqlite_engine, public_base_url=base))
        response = TestClient(app).get("/simulator")
        assert_protected(response, "/simulator", https=False)


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "frontdoor.example.org.evil.example",
        "evil.example:443",
        "frontdoor.example.org@evil.example",
        "frontdoor.example.org/evil",
        "",
        "bad host",
    ],
)
def test_a_foreign_host_is_refused_without_a_redirect(app: FastAPI, host: str) -> None:
    client = TestClient(app)
    for path in ("/", "/dashboard", "/dashboard/login", "/simulator", "/static/simulator.js"):
        response = client.get(
            path, headers={"Host": host, "Accept": "text/html"}, follow_redirects=False
        )
        assert response.status_code == 400, (host, path)
        assert "location" not in response.headers
        assert "evil" not in response.text
    assert client.post("/sms/inbound", headers={"Host": host}).status_code == 400


def test_two_host_headers_are_refused(app: FastAPI) -> None:
    scope = {"type": "http", "headers": [(b"host", b"frontdoor.example.org"), (b"host", b"x")]}
    assert sh.host_of(scope) is None
    scope = {"type": "http", "headers": []}
    assert sh.host_of(scope) is None


@pytest.mark.parametrize(
    "host",
    [
        "frontdoor.example.org",
        "FrontDoor.Example.org:443",
        "localhost:8000",
        "127.0.0.1",
        "[::1]:8000",
    ],
)
def test_the_public_and_local_hosts_are_served_in_development(app: FastAPI, host: str) -> None:
    response = TestClient(app).get("/dashboard/login", headers={"Host": host})
    assert response.status_code == 200, host


def test_production_serves_only_the_public_host(tmp_path: Path, content: Content) -> None:
    url = f"sqlite:///{tmp_path / 'production.db'}"  # its own database: its own secret
    upgrade(url)
    settings = make_settings(tmp_path, url).model_copy(
        update={
            "frontdoor_env": "production",
            "frontdoor_secret": LONG_SECRET,
            "public_base_url": PUBLIC,
        }
    )
    engine = Engine(settings=settings, content=content)
    app = create_app(engine)
    local = TestClient(app)
    assert local.get("/dashboard/login").status_code == 400  # Host: testserver
    assert local.get("/dashboard/login", headers={"Host": "localhost"}).status_code == 400
    public = TestClient(app, base_url=PUBLIC)
    response = public.get("/dashboard/login")
    assert response.status_code == 200
    assert_protected(response, "/dashboard/login")
    # Platform probes reach the health check by an internal address; it says only ok or not.
    health = local.get("/healthz", headers={"Host": "10.0.0.7:8000"})
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert_protected(health, "/healthz")
    scraped = local.get("/metrics", headers={"Host": "web:8000"})
    assert scraped.status_code != 400  # its own token decides, not the Host check
    assert_protected(scraped, "/metrics")
    engine.db.dispose()


def test_templates_have_no_inline_script_style_or_handlers() -> None:
    """The policy would block them in the browser; this says which file, before it does."""
    templates = [path for folder in TEMPLATE_DIRS for path in folder.glob("*.html")]
    assert len(templates) >= 8
    for path in templates:
        text = path.read_text()
        for script in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in script, path
        assert not re.search(r"<style\b", text), path
        assert not re.search(r"\sstyle\s*=", text), path
        assert not re.search(r"\son[a-z]+\s*=", text), path
        assert not re.search(r"hx-on|hx-vals\s*=\s*['\"]\s*(js|javascript):", text), path
        assert "javascript:" not in text, path


def test_htmx_is_configured_without_eval() -> None:
    base = (TEMPLATE_DIRS[0] / "base.html").read_text()
    found = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", base)
    assert found, "base.html must configure htmx"
    config = json.loads(found.group(1))
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False
    assert config["allowScriptTags"] is False
    assert config["historyCacheSize"] == 0
    htmx = re.search(r'src="/static/vendor/htmx-(\d+)\.', base)
    assert htmx and int(htmx.group(1)) >= 2, "the meta config and allowEval are htmx 2 features"
