"""Start-up refusal: `FRONTDOOR_ENV=production` never runs with unsafe settings.

A weak secret makes every sealed value and keyed hash guessable, a plain-http
address leaks Twilio signatures and staff sessions, and the simulator writes
real conversations for anyone who finds it. Each of these stops the web app
and the worker before they touch anything, with one line saying what to fix.
"""

from __future__ import annotations

import base64
import binascii
import math
import string
import sys
import zlib
from collections import Counter

from bot.settings import Settings

MIN_SECRET_BYTES = 32
MIN_SECRET_BITS = 128  # crude Shannon estimate over the secret as written
MIN_COMPRESSED_RATIO = 0.6  # random bytes barely compress; repeats do


def secret_bytes(secret: str) -> bytes:
    """The secret's bytes after decoding hex or base64, else its UTF-8 bytes."""
    text = secret.strip()
    if text and len(text) % 2 == 0 and all(char in string.hexdigits for char in text):
        return bytes.fromhex(text)
    alphabet = set(string.ascii_letters + string.digits + "-_+/=")
    if text and set(text) <= alphabet:
        padded = text + "=" * (-len(text) % 4)
        for decode in (base64.urlsafe_b64decode, base64.b64decode):
            try:
                return decode(padded.encode())
            except (binascii.Error, ValueError):
                continue
    return text.encode()


def estimated_bits(text: str) -> float:
    """Length times the per-character Shannon entropy: a floor, not a proof."""
    if not text:
        return 0.0
    counts = Counter(text)
    per_char = -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())
    return per_char * len(text)


def secret_problem(secret: str) -> str | None:
    """Why this secret is too weak for production, or None."""
    if not secret.strip():
        return "FRONTDOOR_SECRET is not set"
    raw = secret_bytes(secret)
    if len(raw) < MIN_SECRET_BYTES:
        return f"FRONTDOOR_SECRET holds {len(raw)} bytes; at least {MIN_SECRET_BYTES} are needed"
    too_regular = len(zlib.compress(raw, 9)) < MIN_COMPRESSED_RATIO * len(raw)
    if too_regular or estimated_bits(secret.strip()) < MIN_SECRET_BITS:
        return "FRONTDOOR_SECRET does not look random (repeats or too few different characters)"
    return None


def production_problems(settings: Settings) -> list[str]:
    """Every unsafe setting for production; empty outside production."""
    if settings.frontdoor_env != "production":
        return []
    problems = []
    weak = secret_problem(settings.frontdoor_secret)
    if weak:
        problems.append(
            weak + " (make one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if not settings.public_base_url.startswith("https://"):
        problems.append("PUBLIC_BASE_URL must be the public https:// address")
    if settings.simulator:
        problems.append("SIMULATOR must be off in production (it writes real conversations)")
    return problems


def refuse_unsafe_start(settings: Settings, what: str) -> None:
    """Stop `what` (the web app, the worker) with every problem listed."""
    problems = production_problems(settings)
    if not problems:
        return
    lines = [f"Front Door {what} refused to start in production:"]
    lines += [f"  - {problem}" for problem in problems]
    print("\n".join(lines), file=sys.stderr, flush=True)
    raise SystemExit(2)
