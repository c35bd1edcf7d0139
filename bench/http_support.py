"""What the HTTP benches share: the app under uvicorn on a loopback port, a
signed Twilio post, timed callers run side by side, and one figures line.

Kept in one place so the SMS webhook, web chat and live chat benches measure
the same way (same server, same signing, same percentiles).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import uvicorn
from twilio.request_validator import RequestValidator

from bench.engine_bench import percentile
from bot.engine import Engine
from bot.settings import Settings
from bot.storage.migrate import upgrade
from bot.web.app import create_app

TOKEN = "bench-auth-token"
BASE = "https://frontdoor.example.org"
ACCOUNT = "AC" + "0" * 32
TWILIO_FROM = "+447700900999"


def bench_settings(var: Path, **overrides: Any) -> Settings:
    """Settings for a bench: a fresh SQLite database under `var`, Twilio signed
    with the bench's token, and the sender caps out of the way (a bench sends
    far more than a person would; a capped message never reaches the engine)."""
    values: dict[str, Any] = {
        "var_dir": var,
        "database_url": "",
        "frontdoor_secret": "bench-secret",
        "twilio_account_sid": ACCOUNT,
        "twilio_auth_token": TOKEN,
        "twilio_from": TWILIO_FROM,
        "public_base_url": BASE,
        "log_level": "WARNING",
        "sender_max_messages": 100_000,
        **overrides,
    }
    settings = Settings(**values)
    upgrade(settings.sqlalchemy_url)
    return settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The whole app under uvicorn on a loopback port; yields its base URL."""
    config = uvicorn.Config(
        create_app(Engine(settings=settings)),
        host="127.0.0.1",
        port=free_port(),
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def signed_sms(
    sender: str, n: int, text: str, path: str = "/sms/inbound"
) -> tuple[str, dict[str, str]]:
    """The form body and headers Twilio would post for the `n`th text, signed."""
    sid = f"SM{n:032x}"
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT,
        "From": sender,
        "To": TWILIO_FROM,
        "Body": text,
        "NumMedia": "0",
    }
    signature = RequestValidator(TOKEN).compute_signature(BASE + path, params)
    return urlencode(params), {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def side_by_side(callers: list[Callable[[list[float]], None]]) -> tuple[list[float], float]:
    """Run the callers at once, each appending its timings to one shared list;
    the timings and the wall time they took together."""
    out: list[float] = []
    threads = [threading.Thread(target=caller, args=(out,)) for caller in callers]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out, time.perf_counter() - began


def timed(call: Callable[[], Any], times: int) -> tuple[list[float], float]:
    """`call` run `times` times one after another: each timing and the wall time."""
    out: list[float] = []
    began = time.perf_counter()
    for _ in range(times):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out, time.perf_counter() - began


def line(name: str, seconds: list[float], wall: float) -> None:
    """One figures line: p50, p99 and requests a second."""
    ms = [s * 1000 for s in seconds]
    print(
        f"  {name:<30} p50 {percentile(ms, 0.50):7.2f} ms   p99 {percentile(ms, 0.99):7.2f} ms"
        f"   {len(seconds) / wall:7.0f}/s"
    )
