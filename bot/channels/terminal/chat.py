"""Talk to the bot in a terminal, as an SMS thread or a Telegram chat would show it.

A quick way for developers and content editors to walk the flows without a
phone or a browser. Each run is a new person ("terminal-<random>") on its own
channel, so nothing here mixes with real conversations. Works with piped
input, so tests and scripts can drive it.
"""

from __future__ import annotations

import secrets
import sys
import uuid
from typing import TextIO

from sqlalchemy import inspect

from bot.channels.render import sms_text
from bot.channels.terminal.inbound import choice_for
from bot.channels.terminal.render import telegram_text
from bot.engine import Engine
from bot.types import Inbound, Option


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _database_ready(engine: Engine) -> bool:
    try:
        return inspect(engine.db.engine).has_table("conversations")
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False


def run_chat(
    style: str = "sms",
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    engine: Engine | None = None,
) -> int:
    """Read lines until end of input, sending each to the engine; 0 when input ends."""
    if style not in ("sms", "telegram"):
        print(f"unknown style {style!r}: use sms or telegram", file=sys.stderr)
        return 2
    engine = engine or Engine()
    if not _database_ready(engine):
        print("the database is not ready: run `frontdoor db upgrade` first", file=sys.stderr)
        return 1
    address = f"terminal-{secrets.token_hex(8)}"
    interactive = _is_tty(stdin)
    ansi = _is_tty(stdout)
    last_options: tuple[Option, ...] = ()

    print(
        f"Front Door chat ({style} view). Type EXIT to end the chat; "
        "press Ctrl-D to close the program.\n",
        file=stdout,
        flush=True,
    )
    try:
        while True:
            if interactive:
                print("> ", end="", file=stdout, flush=True)
            line = stdin.readline()
            if not line:
                break
            text = line.rstrip("\r\n")
            choice = choice_for(text, last_options) if style == "telegram" else None
            replies = engine.handle(
                Inbound(
                    channel="terminal",
                    address=address,
                    text="" if choice else text,
                    message_id=uuid.uuid4().hex,
                    choice=choice,
                    address_is_phone=False,
                )
            )
            for reply in replies:
                shown = sms_text(reply) if style == "sms" else telegram_text(reply, ansi)
                print(f"{shown}\n", file=stdout, flush=True)
            last_options = replies[-1].options if replies else ()
    except KeyboardInterrupt:
        print(file=stdout)
        return 130
    if interactive:
        print(file=stdout)
    return 0
