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
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bench.webhook_bench import _free_port, _line
from bot.engine import Engine
from bot.settings import Settings
from bot.storage.migrate import upgrade
from bot.web.app import create_app

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
    var = Path(tempfile.mkdtemp(prefix="frontdoor-webchat-bench-"))
    settings = Settings(
        var_dir=var,
        database_url="",
        frontdoor_secret="bench-secret",
        log_level="WARNING",
        sender_max_messages=100_000,
        webchat_address_max_messages=100_000,
        webchat_address_max_chats=100_000,
    )
    upgrade(settings.sqlalchemy_url)
    port = _free_port()
    config = uvicorn.Config(
        create_app(Engine(settings=settings)), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=30) as client:
            pages: list[float] = []
            began = time.perf_counter()
            for _ in range(MESSAGES):
                start = time.perf_counter()
                client.get(url + "/chat").raise_for_status()
                pages.append(time.perf_counter() - start)
            pages_wall = time.perf_counter() - began
            raw, packed = page_size(client, url)
        one: list[float] = []
        began = time.perf_counter()
        _chat(url, MESSAGES, one)
        one_wall = time.perf_counter() - began
        four: list[float] = []
        threads = [
            threading.Thread(target=_chat, args=(url, MESSAGES // 4, four)) for _ in range(4)
        ]
        began = time.perf_counter()
        for each in threads:
            each.start()
        for each in threads:
            each.join()
        four_wall = time.perf_counter() - began
        print(f"web chat through uvicorn on loopback (SQLite), {MESSAGES} requests each:")
        _line("GET /chat (the page)", pages, pages_wall)
        _line("web chat message, 1 chat", one, one_wall)
        _line("web chat message, 4 chats", four, four_wall)
        print(
            f"  the page with its script and styles: {raw / 1024:.1f} KB, "
            f"{packed / 1024:.1f} KB compressed (budget 50 KB)"
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
