"""Optional error reporting (Sentry), on only when SENTRY_DSN is set.

People write about abuse, so what leaves for the error service is the kind of
error and where in the code it happened, nothing more: no request bodies,
headers, cookies, local variables, source lines, breadcrumb messages or
exception messages (which may quote what a person wrote).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration

from bot.settings import Settings

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

log = logging.getLogger(__name__)

FRAME_KEEP = ("filename", "module", "function", "lineno", "abs_path", "in_app")
BREADCRUMB_KEEP = ("category", "level", "timestamp", "type")
EVENT_DROP = ("request", "user", "extra", "breadcrumbs", "server_name", "message")


def init_error_reporting(settings: Settings, transport: Any = None) -> bool:
    """Start Sentry when SENTRY_DSN is set; `transport` is for tests."""
    if not settings.sentry_dsn:
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.frontdoor_env,
        send_default_pii=False,
        include_local_variables=False,
        include_source_context=False,
        max_request_body_size="never",
        # Sentry's `Event` is a TypedDict over the plain dict the scrubber walks.
        before_send=cast("Callable[[Event, Hint], Event | None]", scrub_event),
        before_breadcrumb=scrub_breadcrumb,
        traces_sample_rate=0.0,
        # Log records become neither events nor breadcrumbs: we report exceptions ourselves.
        integrations=[LoggingIntegration(level=None, event_level=None)],
        transport=transport,
    )
    log.info("error reporting on")
    return True


def report_current_exception() -> None:
    """Send the exception being handled, if error reporting is on."""
    if sentry_sdk.get_client().is_active() and sys.exc_info()[0] is not None:
        sentry_sdk.capture_exception()


def scrub_breadcrumb(crumb: dict[str, Any], _hint: Any) -> dict[str, Any] | None:
    """Keep only a breadcrumb's kind and time, never its message or data."""
    return {key: crumb[key] for key in BREADCRUMB_KEEP if key in crumb}


def scrub_event(event: dict[str, Any], _hint: Any) -> dict[str, Any] | None:
    """Strip everything that could hold what a person wrote or who they are."""
    for key in EVENT_DROP:
        event.pop(key, None)
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        event["logentry"] = {"message": str(logentry.get("message", ""))}
    for exception in (event.get("exception") or {}).get("values") or []:
        exception["value"] = ""  # the message may quote a person's words
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            for key in list(frame):
                if key not in FRAME_KEEP:
                    del frame[key]
    for thread in (event.get("threads") or {}).get("values") or []:
        for frame in (thread.get("stacktrace") or {}).get("frames") or []:
            for key in list(frame):
                if key not in FRAME_KEEP:
                    del frame[key]
    return event
