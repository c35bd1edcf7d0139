"""The dashboard as a whole: every route's role, checked for every kind of visitor,
its imports, and its tables. The tests of each part are beside it:
test_dashboard_signin.py, _queue.py, _request.py and _audit.py (one per module
of bot/dashboard/routes/), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.dashboard_support import (
    Dash,
    attempt,
    build,
    claimed,
    csrf_of,
    make_request,
    signed_in,
)

# Other test modules import these from here (tests/faults/test_outbox_faults.py).
__all__ = ["Dash", "attempt", "build", "claimed"]


# ----- every route has an explicit role, checked for every kind of visitor -------------------

ROUTES = {
    ("GET", "/dashboard/login"): "public",
    ("POST", "/dashboard/login"): "public",
    ("POST", "/dashboard/logout"): "handler",
    ("GET", "/dashboard"): "handler",
    ("GET", "/dashboard/queue/rows"): "handler",
    ("POST", "/dashboard/take-next"): "handler",
    ("GET", "/dashboard/requests/{reference}"): "handler",
    ("GET", "/dashboard/requests/{reference}/live"): "handler",
    ("POST", "/dashboard/requests/{reference}/claim"): "handler",
    ("POST", "/dashboard/requests/{reference}/release"): "handler",
    ("POST", "/dashboard/requests/{reference}/number"): "handler",
    ("POST", "/dashboard/requests/{reference}/attempts"): "handler",
    ("GET", "/dashboard/requests/{reference}/audit"): "supervisor",
    ("GET", "/dashboard/audit.csv"): "supervisor",
}


def dashboard_routes(_app: FastAPI) -> dict[tuple[str, str], APIRoute]:
    """The routes of bot/dashboard/routes/ (the matrix test proves the app serves them)."""
    from bot.dashboard.routes import audit, queue, request, signin

    found = {}
    for route in [r for module in (signin, queue, request, audit) for r in module.router.routes]:
        if isinstance(route, APIRoute) and route.path.startswith("/dashboard"):
            for method in route.methods:
                found[(method, route.path)] = route
    return found


def declared_role(route: APIRoute) -> str:
    roles = {getattr(dep.call, "role", None) for dep in route.dependant.dependencies}
    roles.discard(None)
    assert len(roles) <= 1, route.path
    return roles.pop() if roles else "public"


def test_every_route_declares_the_role_the_matrix_expects(dash: Dash) -> None:
    routes = dashboard_routes(dash.app)
    assert set(routes) == set(ROUTES), "a new route needs a line in ROUTES and the matrix"
    for key, route in routes.items():
        assert declared_role(route) == ROUTES[key], key


@pytest.mark.parametrize("visitor", ["anonymous", "handler", "supervisor"])
@pytest.mark.parametrize("key", sorted(ROUTES), ids=lambda k: f"{k[0]} {k[1]}")
def test_route_role_matrix(dash: Dash, key: tuple[str, str], visitor: str) -> None:
    method, path = key
    reference = make_request(dash.engine, dash.clock.now)
    url = path.replace("{reference}", reference)
    if visitor == "anonymous":
        client, csrf = TestClient(dash.app), ""
    else:
        client, csrf = signed_in(dash.app, "alice" if visitor == "handler" else "sue")
    if method == "GET":
        response = client.get(url, follow_redirects=False)
    else:
        data = {"csrf_token": csrf}
        if path == "/dashboard/login":
            data = {"csrf_token": csrf_of(client.get("/dashboard/login").text), "name": "x"}
        response = client.post(url, data=data, follow_redirects=False)
    role = ROUTES[key]
    refused_anonymous = response.status_code == 303 and response.headers["location"] in (
        "/dashboard/login",
        "/dashboard/login?expired=true",
    )
    if role == "public":
        assert response.status_code in (200, 401), response.status_code
    elif visitor == "anonymous":
        assert refused_anonymous, (response.status_code, response.headers.get("location"))
    elif role == "supervisor" and visitor == "handler":
        assert response.status_code == 403
        assert "Only supervisors can open this page." in response.text
    else:
        assert not refused_anonymous, response.headers.get("location")
        assert "Only supervisors can open this page." not in response.text
        assert response.status_code < 500


# ----- boundaries and tables -----------------------------------------------------------------


def test_the_dashboard_never_imports_flows_or_channels() -> None:
    import subprocess
    import sys

    code = (
        "import sys, bot.dashboard.routes, bot.dashboard.admin;"
        "bot.dashboard.routes.routers();"  # every route module, imported as install() does
        "print(sorted(m for m in sys.modules if m.startswith(('bot.flows', 'bot.channels',"
        " 'bot.engine'))))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "[]"


def test_the_migration_matches_the_dashboard_tables(tmp_path: Path) -> None:
    """Upgraded to head, the database has exactly what models.py describes."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    from bot.storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert differences == []
    tables = set(SQLModel.metadata.tables)
    assert {"staff_users", "staff_sessions", "login_failures", "call_attempts"} <= tables
    assert "audit_events" in tables
