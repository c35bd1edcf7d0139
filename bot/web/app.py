"""The one ASGI app: a small composition root that wires routers to one Engine.

Channel webhooks, the simulator and the dashboard each live in their own
router; this module only builds the engine, mounts them, and makes sure that
nobody ever meets a stack trace (safety rule 4: nothing personal in logs
either, so errors are logged by type and path only).
"""

from __future__ import annotations

import gc
import html
import logging
import traceback
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import TypedDict

from babel.core import negotiate_locale
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.channels.registry import channels
from bot.channels.simulator.setup import simulator_enabled
from bot.content.model import Content, load_content
from bot.dashboard.routes import install as install_dashboard
from bot.engine import Engine
from bot.error_reporting import init_error_reporting, report_current_exception
from bot.production import refuse_unsafe_start
from bot.services import Services
from bot.settings import Settings, get_settings
from bot.web import chat_delivery, metrics
from bot.web.security_headers import SecurityHeaders

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

CALM_ERROR, CALM_INVALID, CALM_NOT_FOUND = "web.error", "web.invalid", "web.not_found"

health = APIRouter()


@health.get("/healthz")
def healthz(request: Request) -> JSONResponse:
    """Say whether the database answers, without revealing anything else."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is not None:
        try:
            with engine.db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return JSONResponse({"status": "ok"})
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            log.warning("health check: database unavailable (%s)", type(error).__name__)
    return JSONResponse({"status": "unavailable"}, status_code=503)


def _settle_start_up_objects() -> None:
    """What start-up built (content, the safety screen's patterns) lives as long
    as the process; moving it out of the garbage collector's sight keeps full
    collections short. Without this, a full collection over those objects
    paused webhooks for 100-250 ms under load (see `make bench`)."""
    gc.collect()
    gc.freeze()


def create_app(engine: Engine | None = None) -> FastAPI:
    """Build the app; without an engine, one is made from the environment at start-up."""
    settings = engine.settings if engine is not None else get_settings()
    if engine is None:  # built from the environment, e.g. `uvicorn --factory`
        refuse_unsafe_start(settings, "web app")
    init_error_reporting(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = None
        if getattr(app.state, "engine", None) is None:
            built = app.state.engine = Engine(settings=settings)
            app.state.services = Services.of(built)
        try:
            async with AsyncExitStack() as stack:
                for parts in channels():
                    await stack.enter_async_context(parts.lifespan(app, settings))
                senders = {p.name: s for p in channels() if (s := p.sender(settings)) is not None}
                await stack.enter_async_context(chat_delivery.running(app, senders))
                _settle_start_up_objects()
                yield
        finally:
            gc.unfreeze()
            if built is not None:
                built.db.engine.dispose()

    app = FastAPI(
        title="Front Door",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.engine = engine
    app.state.services = Services.of(engine) if engine is not None else None
    _add_error_handlers(app)
    # Added last so it is outermost: every response, even a calm 500, gets the headers.
    app.add_middleware(SecurityHeaders, settings=settings, refuse=_refuse_host)
    app.include_router(health)
    app.include_router(metrics.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_dashboard(app)
    for parts in channels():  # bot/channels/registry.py: adding a channel touches only that
        if parts.startup_line is not None:
            log.info(parts.startup_line(settings))
        parts.mount(app, settings)
    return app


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@lru_cache(maxsize=1)
def _content_without_engine() -> Content:
    settings = get_settings()
    return load_content(settings.content_dir, settings.locales_dir)


def _calm(request: Request, status: int, key: str) -> Response:
    """One calm sentence from content/web.yaml, in the browser's language if shipped."""
    engine: Engine | None = getattr(request.app.state, "engine", None)
    content = engine.content if engine is not None else _content_without_engine()
    shipped = engine.locales if engine is not None else get_settings().locales
    locale = _preferred_locale(request.headers.get("accept-language", ""), shipped)
    reply = content.reply(key, locale, options=[])
    if _wants_html(request):
        page = (
            f'<!doctype html><html lang="{locale}" dir="{reply.direction}"><meta charset="utf-8">'
            '<title>Front Door</title><link rel="stylesheet" href="/static/calm.css"><body>'
            f"<p>{html.escape(reply.rich)}</p></body></html>"
        )
        return HTMLResponse(page, status_code=status)
    return JSONResponse({"error": reply.rich}, status_code=status)


def _refuse_host(scope: Scope) -> Response:
    """A request for another host gets a calm 400, never a redirect or a link."""
    return _calm(Request(scope), 400, CALM_INVALID)


def _preferred_locale(header: str, shipped: list[str]) -> str:
    """The first language in an Accept-Language header that we ship, else English."""
    wanted = [part.split(";")[0].strip().lower() for part in header.split(",")]
    codes = [code.replace("_", "-").split("-")[0] for code in wanted if code]
    return negotiate_locale(codes, shipped) or "en"


def _add_error_handlers(app: FastAPI) -> None:
    """Every error becomes one calm sentence; details never leave the server."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, _error: RequestValidationError) -> Response:
        return _calm(request, 422, CALM_INVALID)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404:
            return _calm(request, 404, CALM_NOT_FOUND)
        if error.status_code < 500:
            return _calm(request, error.status_code, CALM_INVALID)
        return _calm(request, error.status_code, CALM_ERROR)

    app.add_middleware(CalmErrors)


class CalmErrors:
    """Catch what no handler did, before the server could log it with its message.

    Starlette re-raises unhandled errors so the server logs them in full; an
    exception's message may quote what a person wrote, so we log only its
    type, the path and the code lines (never locals or the message).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:  # noqa: BLE001 - a person must never meet a stack trace
            frames = "".join(traceback.format_list(traceback.extract_tb(error.__traceback__)))
            log.error("unhandled %s on %s\n%s", type(error).__name__, scope.get("path"), frames)
            report_current_exception()
            if not started:
                await _calm(Request(scope), 500, CALM_ERROR)(scope, receive, send)


def serve(host: str = "127.0.0.1", port: int | None = None) -> None:
    """Run the web app with uvicorn, after saying where the simulator is."""
    import uvicorn

    settings = get_settings()
    port = port or settings.port
    where = f"Front Door on http://{host}:{port}"
    if simulator_enabled(settings):
        where += " - simulator at /simulator"
    print(where, flush=True)
    uvicorn.run(
        create_app(),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        server_header=False,
        **proxy_options(settings),
    )


class ProxyOptions(TypedDict):
    proxy_headers: bool
    forwarded_allow_ips: str


def proxy_options(settings: Settings) -> ProxyOptions:
    """Believe X-Forwarded-For (the client address sign-in throttles count) only
    from the proxies listed in FORWARDED_ALLOW_IPS (README, "Behind a proxy")."""
    return {"proxy_headers": True, "forwarded_allow_ips": settings.forwarded_allow_ips}
