"""Browser protections on every response, and refusal of a foreign Host header.

The dashboard shows a person's code word, name and call notes to staff; the
simulator shows a whole conversation. So no page may run inline or evaluated
script, be framed, be sniffed into another type, leak its address to another
site, or stay in the browser's cache after sign-out. A request that names
another host is refused before any route runs, so no link or redirect we
build can ever point at an attacker's Host header.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.settings import Settings

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=63072000; includeSubDomains"
DEVELOPMENT_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "testserver"})
# Static files are the same for everyone and hold nothing personal: they may be cached.
CACHEABLE_PREFIX = "/static/"
# Platform probes and metrics scrapers call these by an internal name or address
# (compose's "web:8000"); they answer only a status or token-guarded counts and
# never build a link from the Host header.
ANY_HOST_PATHS = frozenset({"/healthz", "/metrics"})
# Routes that set their own Content-Security-Policy (the web chat page, framed
# only by the sites content/data/webchat.yaml lists); every other one gets ours.
OWN_POLICY_PREFIXES = ("/chat",)


def fixed_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """The headers every response carries, whatever its route or status."""
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
    ]
    if settings.public_base_url.lower().startswith("https://"):
        headers.append(("Strict-Transport-Security", HSTS))
    return [(name.lower().encode(), value.encode()) for name, value in headers]


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """The public host; in development also the local names tests and `make run` use."""
    public = urlsplit(settings.public_base_url.strip()).hostname
    hosts = {public} if public else set()
    if settings.frontdoor_env != "production":
        hosts |= DEVELOPMENT_HOSTS
    return frozenset(hosts)


def host_of(scope: Scope) -> str | None:
    """The host a request names (without port, lower case), or None when unreadable."""
    values = [value for name, value in scope.get("headers", []) if name == b"host"]
    if len(values) != 1:
        return None
    try:
        raw = values[0].decode("ascii").strip()
        parsed = urlsplit("//" + raw)
        parsed.port  # noqa: B018 - raises on a malformed port
    except (UnicodeDecodeError, ValueError):
        return None
    if not raw or parsed.username is not None or parsed.path or parsed.query:
        return None
    return parsed.hostname


class SecurityHeaders:
    """Refuse foreign hosts with 400; add the security headers to every response."""

    def __init__(
        self,
        app: ASGIApp,
        settings: Settings,
        refuse: Callable[[Scope], Response],
        hosts: Iterable[str] | None = None,
    ) -> None:
        self.app = app
        self.headers = fixed_headers(settings)
        self.hosts = frozenset(hosts) if hosts is not None else allowed_hosts(settings)
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        no_store = not path.startswith(CACHEABLE_PREFIX)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                # A route may set a policy of its own (the web chat's names the
                # sites that may frame it); only it then drops X-Frame-Options.
                own_policy = headers.get("content-security-policy")
                for name, value in self.headers:
                    headers[name.decode()] = value.decode()
                if own_policy and path.startswith(OWN_POLICY_PREFIXES):
                    headers["Content-Security-Policy"] = own_policy
                    if "frame-ancestors 'none'" not in own_policy:
                        del headers["X-Frame-Options"]
                if no_store:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        if path not in ANY_HOST_PATHS and host_of(scope) not in self.hosts:
            await self.refuse(scope)(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)
