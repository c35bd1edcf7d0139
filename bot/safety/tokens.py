"""Turn a message into comparable tokens, clause by clause.

People in danger type fast: lower case or CAPS, no punctuation, stretched
letters ("heeelp"), typos, numbers glued to words ("14yo"). Tokens here are
made the same way for the message and for the patterns, so one pattern
covers all of those. Phone numbers stay whole, so "07999 123456" never
reads as "999".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot.text import normalise

# One Arabic-script spelling for letters typed in several ways (Arabic and
# Urdu keyboards, hamza forms), applied to messages and patterns alike.
_ARABIC_SCRIPT = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ۃ": "ه",
        "ہ": "ه",
        "ھ": "ه",
        "ى": "ي",
        "ی": "ي",
        "ے": "ي",
        "ئ": "ي",
        "ک": "ك",
        "ؤ": "و",
        "ـ": None,
    }
)
_CLAUSE_MARKS = re.compile(r"[.!?;,:\n\r()\[\]…،؛؟]+")
_DIGIT_SPLIT = re.compile(r"(\d+)")
_REPEATS = re.compile(r"([^\W\d_])\1+")
PHONE_DIGITS = 7  # a run of this many digits (with spaces between) is a phone number


def squeeze(word: str) -> str:
    """Collapse repeated letters: "heeelp" and "help", "kil" and "kill" compare equal."""
    return _REPEATS.sub(r"\1", word)


@lru_cache(maxsize=256)
def clean(text: str) -> str:
    """Normalised words without punctuation: case, accents and Arabic-script forms folded.
    Remembered: a message is cleaned whole twice in one reading (is it a phone
    number? and the classifier's input)."""
    text = unicodedata.normalize("NFKC", text).translate(_ARABIC_SCRIPT)
    return normalise(text)


@lru_cache(maxsize=4096)
def _words(clause: str) -> tuple[str, ...]:
    """Words of one clause; digits split from letters; phone numbers kept as one word.
    Remembered: every language's patterns read the same message."""
    out: list[str] = []
    for word in clean(clause).split():
        out.extend(part for part in _DIGIT_SPLIT.split(word) if part)
    joined: list[str] = []
    run: list[str] = []
    for word in [*out, ""]:
        if word.isdigit():
            run.append(word)
            continue
        if run:
            if len(run) > 1 and sum(len(r) for r in run) >= PHONE_DIGITS:
                joined.append("".join(run))
            else:
                joined.extend(run)
            run = []
        if word:
            joined.append(word)
    return tuple(joined)


def clauses(
    text: str, breaks: frozenset[str] = frozenset(), keep_after: frozenset[str] = frozenset()
) -> list[tuple[str, ...]]:
    """The message's clauses as word tuples, split at punctuation and at `breaks`
    words ("and", "but"), which begin the next clause, except right after a
    `keep_after` word (Bulgarian "ще и кажа": there "и" is "her")."""
    found: list[tuple[str, ...]] = []
    for part in _CLAUSE_MARKS.split(text or ""):
        current: list[str] = []
        for word in _words(part):
            if word in breaks and current and current[-1] not in keep_after:
                found.append(tuple(current))
                current = []
            current.append(word)
        if current:
            found.append(tuple(current))
    return found


def phone_like(text: str) -> bool:
    """Does the whole message read as one phone number (safe numbers contain 999)?"""
    words = _words(text or "")
    return len(words) == 1 and words[0].isdigit() and len(words[0]) >= PHONE_DIGITS
