"""`make bench`, part three: the signed SMS webhook through the real HTTP stack.

Starts the app under uvicorn on a loopback port (SQLite under a temporary
folder), then times, in the same run: GET /healthz (the floor: one HTTP round
trip and one database ping), signed POST /sms/inbound from one sender, and
from 4 senders at once. Prints p50 and p99 for each and messages a second.
The sender cap is lifted (bench/http_support.py), so every message is a full
turn through the engine, not the flood answer. Figures only, no assertions.
"""

from __future__ import annotations

import tempfile
import time
from functools import partial
from pathlib import Path

import httpx

from bench.engine_bench import percentile
from bench.http_support import bench_settings, line, serve, side_by_side, signed_sms, timed

MESSAGES = 300
SENDERS = 4
WORDS = ["hi", "1", "1", "menu", "2", "back", "hes not here", "what is coercive control"]


def _sender(url: str, sender: str, start: int, count: int, out: list[float]) -> None:
    """One person texting `count` times in a row, each post timed into `out`."""
    with httpx.Client(timeout=30) as client:
        for i in range(count):
            body, headers = signed_sms(sender, start + i, WORDS[i % len(WORDS)])
            began = time.perf_counter()
            response = client.post(url + "/sms/inbound", content=body, headers=headers)
            out.append(time.perf_counter() - began)
            response.raise_for_status()


def main() -> None:
    settings = bench_settings(Path(tempfile.mkdtemp(prefix="frontdoor-webhook-bench-")))
    with serve(settings) as url:
        with httpx.Client(timeout=30) as client:
            health, health_wall = timed(
                lambda: client.get(url + "/healthz").raise_for_status(), MESSAGES
            )
        one, one_wall = side_by_side([partial(_sender, url, "+447700900001", 0, MESSAGES)])
        four, four_wall = side_by_side(
            [
                partial(_sender, url, f"+4477009001{n:02d}", 10_000 * (n + 1), MESSAGES // SENDERS)
                for n in range(SENDERS)
            ]
        )
    print(f"webhook through uvicorn on loopback (SQLite), {MESSAGES} requests each:")
    line("GET /healthz (floor)", health, health_wall)
    line("SMS webhook, 1 sender", one, one_wall)
    line(f"SMS webhook, {SENDERS} senders at once", four, four_wall)
    floor = percentile(health, 0.50)
    print(f"  one sender's median is {percentile(one, 0.50) / floor:.1f}x the /healthz floor")


if __name__ == "__main__":
    main()
