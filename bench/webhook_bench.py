"""`make bench`, part three: the signed SMS webhook through the real HTTP stack.

Starts the app under uvicorn on a loopback port (SQLite under a temporary
folder), then times, in the same run: GET /healthz (the floor: one HTTP round
trip and one database ping), signed POST /sms/inbound from one sender, and
from 4 senders at once. Prints p50 and p99 for each and messages a second.
Figures only, no assertions.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
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
MESSAGES = 300
WORDS = ["hi", "1", "1", "menu", "2", "back", "hes not here", "what is coercive control"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _signed(sender: str, n: int, text: str) -> tuple[str, dict[str, str]]:
    sid = f"SM{n:032x}"
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT,
        "From": sender,
        "To": "+447700900999",
        "Body": text,
        "NumMedia": "0",
    }
    signature = RequestValidator(TOKEN).compute_signature(BASE + "/sms/inbound", params)
    return urlencode(params), {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


def _sender(url: str, sender: str, start: int, count: int, out: list[float]) -> None:
    with httpx.Client(timeout=30) as client:
        for i in range(count):
            body, headers = _signed(sender, start + i, WORDS[i % len(WORDS)])
            began = time.perf_counter()
            response = client.post(url + "/sms/inbound", content=body, headers=headers)
            out.append(time.perf_counter() - began)
            response.raise_for_status()


def _line(name: str, seconds: list[float], wall: float) -> None:
    ms = [s * 1000 for s in seconds]
    print(
        f"  {name:<28} p50 {percentile(ms, 0.50):7.2f} ms   p99 {percentile(ms, 0.99):7.2f} ms"
        f"   {len(seconds) / wall:7.0f}/s"
    )


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="frontdoor-webhook-bench-"))
    settings = Settings(
        var_dir=var,
        database_url="",
        frontdoor_secret="bench-secret",
        twilio_account_sid=ACCOUNT,
        twilio_auth_token=TOKEN,
        twilio_from="+447700900999",
        public_base_url=BASE,
        log_level="WARNING",
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
            health: list[float] = []
            began = time.perf_counter()
            for _ in range(MESSAGES):
                start = time.perf_counter()
                client.get(url + "/healthz").raise_for_status()
                health.append(time.perf_counter() - start)
            health_wall = time.perf_counter() - began
        one: list[float] = []
        began = time.perf_counter()
        _sender(url, "+447700900001", 0, MESSAGES, one)
        one_wall = time.perf_counter() - began
        four: list[float] = []
        threads = [
            threading.Thread(
                target=_sender,
                args=(url, f"+4477009001{n:02d}", 10_000 * (n + 1), MESSAGES // 4, four),
            )
            for n in range(4)
        ]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        four_wall = time.perf_counter() - began
        print(f"webhook through uvicorn on loopback (SQLite), {MESSAGES} requests each:")
        _line("GET /healthz (floor)", health, health_wall)
        _line("SMS webhook, 1 sender", one, one_wall)
        _line("SMS webhook, 4 senders at once", four, four_wall)
        floor = percentile(health, 0.50)
        print(f"  one sender's median is {percentile(one, 0.50) / floor:.1f}x the /healthz floor")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


if __name__ == "__main__":
    main()
