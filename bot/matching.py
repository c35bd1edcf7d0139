"""Match what a person typed to one of the offered options.

In order: the option's number ("2", "2."), then its label or a synonym from
content (exactly, or as whole words inside a longer reply such as "yes pls"),
then a close spelling ("Yse"). Two options matching equally well is treated
as no match, so the person is asked again rather than guessed at.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import OSA

from bot.text import normalise


def _allowed_typos(word: str) -> int:
    return 0 if len(word) < 3 else 1 if len(word) < 7 else 2


def _contains(said: str, phrase: str) -> bool:
    return f" {phrase} " in f" {said} "


def word_forms(candidates: dict[str, list[str]]) -> dict[str, frozenset[str]]:
    """Each option's words, normalised once so they can be cached."""
    return {
        oid: frozenset(filter(None, (normalise(w) for w in words)))
        for oid, words in candidates.items()
    }


def match_option(text: str, forms: dict[str, frozenset[str]]) -> str | None:
    """Return the option id the text means, or None when unclear.

    `forms` comes from `word_forms`: option id -> its normalised words.
    """
    said = normalise(text)
    if not said:
        return None
    exact = [oid for oid, words in forms.items() if said in words]
    if len(exact) == 1:
        return exact[0]
    inside = [oid for oid, words in forms.items() if any(_contains(said, w) for w in words)]
    if len(inside) == 1:
        return inside[0]
    if inside:
        return None
    best: list[tuple[int, str]] = []
    for oid, words in forms.items():
        for word in words:
            limit = _allowed_typos(word)
            if limit and abs(len(word) - len(said)) <= limit:
                distance = OSA.distance(said, word, score_cutoff=limit)
                if distance <= limit:
                    best.append((distance, oid))
    if not best:
        return None
    best.sort()
    winners = {oid for distance, oid in best if distance == best[0][0]}
    return winners.pop() if len(winners) == 1 else None


_NUMBER = re.compile(r"\s*#?\s*(\d{1,3})\s*[.)!]*\s*")


def option_number(text: str) -> int | None:
    """The number in replies like "2", " 2. ", "#2"; None when it is not a bare number."""
    found = _NUMBER.fullmatch(unicodedata.normalize("NFKC", text))
    return int(found.group(1)) if found else None
