"""`make bench`: the web chat's reply time through the real HTTP stack.

Starts the app under uvicorn on a loopback port (SQLite under a temporary
folder) and times POST /chat/api/messages as the page's script sends them:
one chat, then four chats at once, each walking the first steps of a
conversation (buttons and typed text) round and round. Also GET /chat (the
page) and the page's size, compressed, as a cheap phone downloads it.
Prints p50 and p99; figures only, no assertions.
"""

from __future__ import annotations

import gzip
import secrets
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from bench.http_support import bench_settings, line, serve, side_by_side, timed

MESSAGES = 300
# One round: start, "safe", "for me", a topic typed, back to the menu, a question typed.
ROUND: list[dict[str, Any]] = [
    {"command": "start"},
    {"choice": "yes"},
    {"choice": "me"},
    {"text": "what is coercive control"},
    {"text": "menu"},
    {"text": "hes not here"},
]
PAGE_PARTS = ("/chat", "/chat/static/chat.js", "/chat/static/chat.css", "/chat/theme.css")


def _chat(url: str, count: int, out: list[float]) -> None:
    token: str | None = None
    with httpx.Client(timeout=30) as client:
        for i in range(count):
            body: dict[str, Any] = {"id": secrets.token_hex(8), "text": "", **ROUND[i % len(ROUND)]}
            if token:
                body["token"] = token
            began = time.perf_counter()
            response = client.post(url + "/chat/api/messages", json=body)
            out.append(time.perf_counter() - began)
            response.raise_for_status()
            token = response.json()["token"] or token


def page_size(client: httpx.Client, url: str) -> tuple[int, int]:
    """Bytes of the page and everything it loads: as sent, and gzip-compressed."""
    raw = b"".join(client.get(url + part).content for part in PAGE_PARTS)
    return len(raw), sum(
        len(gzip.compress(client.get(url + part).content, 9)) for part in PAGE_PARTS
    )


def main() -> None:
    settings = bench_settings(
        Path(tempfile.mkdtemp(prefix="frontdoor-webchat-bench-")),
        webchat_address_max_messages=100_000,
        webchat_address_max_chats=100_000,
    )
    with serve(settings) as url:
        with httpx.Client(timeout=30) as client:
            pages, pages_wall = timed(
                lambda: client.get(url + "/chat").raise_for_status(), MESSAGES
            )
            raw, packed = page_size(client, url)
        one, one_wall = side_by_side([partial(_chat, url, MESSAGES)])
        four, four_wall = side_by_side([partial(_chat, url, MESSAGES // 4) for _ in range(4)])
    print(f"web chat through uvicorn on loopback (SQLite), {MESSAGES} requests each:")
    line("GET /chat (the page)", pages, pages_wall)
    line("web chat message, 1 chat", one, one_wall)
    line("web chat message, 4 chats", four, four_wall)
    print(
        f"  the page with its script and styles: {raw / 1024:.1f} KB, "
        f"{packed / 1024:.1f} KB compressed (budget 50 KB)"
    )


if __name__ == "__main__":
    main()
