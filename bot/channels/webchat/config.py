"""The web chat's configuration, from content: colours, the neutral exit site and
the sites allowed to embed it.

It is read once when the app is built, because the page's security headers
(which sites may frame it) come from it. Anything malformed is left out with a
warning rather than trusted: a colour that is not a plain hex value could
inject CSS, an origin with a path could not be matched by the browser.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.content.loader import read_yaml

log = logging.getLogger(__name__)

CONFIG_FILE = Path("data", "webchat").with_suffix(".yaml")
HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")
DEFAULT_EXIT = "https://www.bbc.co.uk/weather"
DEFAULT_COLOURS = {
    "accent": "#1d4f91",
    "accent_text": "#ffffff",
    "exit": "#b10e1e",
    "exit_text": "#ffffff",
}


@dataclass(frozen=True, slots=True)
class WebchatConfig:
    exit_url: str = DEFAULT_EXIT
    colours: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_COLOURS))
    allowed_origins: tuple[str, ...] = ()

    def origin_of_exit(self) -> str:
        parts = urlsplit(self.exit_url)
        return f"{parts.scheme}://{parts.netloc}"


def origin(value: str) -> str | None:
    """A browser origin (scheme, host, optional port) exactly, or None."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        return None
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _exit_url(value: Any) -> str:
    text = str(value or "").strip()
    parts = urlsplit(text)
    plain = not any(ch in text for ch in "\"'<> \\")
    if parts.scheme in ("https", "http") and parts.hostname and not parts.username and plain:
        return text
    log.warning("web chat: exit_url is not a plain http(s) address; using the default")
    return DEFAULT_EXIT


def parse_config(raw: Any) -> WebchatConfig:
    data = raw if isinstance(raw, dict) else {}
    colours = dict(DEFAULT_COLOURS)
    for name, value in (data.get("colours") or {}).items():
        if name in colours and HEX_COLOUR.match(str(value)):
            colours[name] = str(value)
        else:
            log.warning("web chat: colour %s left out (not a known name and #hex value)", name)
    origins: list[str] = []
    for value in data.get("allowed_origins") or []:
        found = origin(str(value))
        if found is None:
            log.warning("web chat: an allowed origin was left out (scheme and host only)")
        elif found not in origins:
            origins.append(found)
    return WebchatConfig(_exit_url(data.get("exit_url")), colours, tuple(origins))


def load_config(content_dir: Path) -> WebchatConfig:
    path = content_dir / CONFIG_FILE
    if not path.exists():
        return WebchatConfig()
    raw = read_yaml(path)
    if raw.problems:
        log.warning("web chat: %s could not be read; using the defaults", CONFIG_FILE)
        return WebchatConfig()
    return parse_config(raw.data)


def page_policy(config: WebchatConfig) -> str:
    """The chat page's Content-Security-Policy: only this server's script, styles
    and requests; forms may also lead to the exit site (the no-script exit
    redirects there); framed only by the configured sites."""
    ancestors = " ".join(config.allowed_origins) or "'none'"
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action 'self' {config.origin_of_exit()}",
            f"frame-ancestors {ancestors}",
        )
    )
