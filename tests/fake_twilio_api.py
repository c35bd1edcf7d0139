"""A fake of Twilio's REST API on loopback, for every test that sends through
Twilio's own client (SMS and WhatsApp senders, the outbox under faults).

It serves real HTTP on 127.0.0.1, records each message create request (every
form field, so a WhatsApp template's ContentSid is seen as well as a Body),
and, on command, answers 503 or 429, drops the connection after reading a
send, or never answers. `Loopback` is Twilio's own HTTP client sent to it.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from twilio.http import HttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

_sids = itertools.count(1)


@dataclass
class Received:
    to: str
    body: str
    answered: str  # "accepted", "503", "dropped", ...
    form: dict[str, str] = field(default_factory=dict)  # every field Twilio was sent
    path: str = ""


@dataclass
class FakeTwilioState:
    """What the fake was asked, and how it will answer the next sends."""

    plan: deque[tuple[Any, ...]] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    def fail_next(self, status: int, code: int, retry_after: int | None = None) -> None:
        self.plan.append(("status", status, code, retry_after))

    def drop_next(self) -> None:
        """Read the send, then close the connection without an answer (it may have gone)."""
        self.plan.append(("drop",))

    def hang_next(self) -> None:
        """Read the send and never answer (the sender's read times out)."""
        self.plan.append(("hang",))

    def reached(self, to: str | None = None) -> list[Received]:
        """Sends that reached Twilio and may have been delivered."""
        return [
            r
            for r in self.received
            if r.answered in ("accepted", "dropped", "hung") and (to is None or r.to == to)
        ]


def _handler(state: FakeTwilioState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args: object) -> None:  # keep the test output quiet
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            parsed = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
            form = {key: values[0] for key, values in parsed.items()}
            to, body = form.get("To", ""), form.get("Body", "")
            step = state.plan.popleft() if state.plan else ("ok",)

            def received(answered: str) -> None:
                state.received.append(Received(to, body, answered, form, self.path))

            if step[0] == "drop":
                received("dropped")
                self.close_connection = True
                return
            if step[0] == "hang":
                received("hung")
                state.release.wait(10)
                self.close_connection = True
                return
            if step[0] == "status":
                _, status, code, retry_after = step
                received(str(status))
                headers = {"Retry-After": str(retry_after)} if retry_after else {}
                self._answer(status, {"code": code, "message": "fake", "status": status}, headers)
                return
            received("accepted")
            sid = f"SM{next(_sids):032x}"
            self._answer(201, {"sid": sid, "status": "queued", "num_segments": "1"}, {})

        def _answer(self, status: int, payload: dict, headers: dict[str, str]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def fake_twilio() -> Iterator[FakeTwilioState]:
    """The fake, serving on a free loopback port until the block ends."""
    state = FakeTwilioState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Loopback(HttpClient):
    """Twilio's own HTTP client (requests underneath), sent to the fake's port."""

    def __init__(self, port: int, timeout: float = 5) -> None:
        self.real = TwilioHttpClient(timeout=timeout)
        super().__init__(self.real.logger, False, timeout)
        self.port = port

    def request(self, method: str, uri: str, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        local = uri.replace("https://api.twilio.com", f"http://127.0.0.1:{self.port}")
        return self.real.request(method, local, *args, **kwargs)
