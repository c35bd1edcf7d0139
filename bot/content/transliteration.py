"""Words that dropping accents for GSM-7 must never produce (Turkish sık -> sik).

The list lives in content/data/transliteration.yaml, per language. The content
check refuses a translation that turns into a listed word; `bot.text` keeps a
text that would in its full spelling (UCS-2), whatever its language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from bot.content.loader import read_yaml
from bot.settings import PROJECT_ROOT

LIST_FILE = PROJECT_ROOT / "content" / "data" / "transliteration.yaml"
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class UnsafeWords:
    """One language's list: whole words, and prefixes (written `sik*`)."""

    exact: Mapping[str, str]
    prefixes: Mapping[str, str]

    def why(self, bare: str) -> str | None:
        """Why `bare` (accents already dropped) must not be sent, or None."""
        key = bare.casefold()
        if key in self.exact:
            return self.exact[key]
        return next((why for p, why in self.prefixes.items() if key.startswith(p)), None)


def parse(data: object) -> dict[str, UnsafeWords]:
    """`{locale: {word: why}}` as read from YAML -> per-locale lists."""
    out: dict[str, UnsafeWords] = {}
    if not isinstance(data, Mapping):
        return out
    for locale, words in data.items():
        exact: dict[str, str] = {}
        prefixes: dict[str, str] = {}
        for word, why in (words or {}).items():
            word = str(word).casefold().strip()
            (prefixes if word.endswith("*") else exact)[word.rstrip("*")] = str(why)
        out[str(locale)] = UnsafeWords(exact, prefixes)
    return out


@lru_cache(maxsize=1)
def shipped_lists() -> dict[str, UnsafeWords]:
    """The project's list, read once (the sender checks every SMS against it)."""
    return parse(read_yaml(LIST_FILE).data) if LIST_FILE.exists() else {}


def changed_words(text: str, strip: Callable[[str], str]) -> list[tuple[str, str]]:
    """Every word whose accents `strip` would drop: (as written, as sent)."""
    out = []
    for word in _WORD.findall(unicodedata.normalize("NFC", text)):
        if word.isascii():
            continue  # nothing to drop
        bare = strip(word)
        if bare != word:
            out.append((word, bare))
    return out


def hazards(
    text: str, strip: Callable[[str], str], lists: Mapping[str, UnsafeWords]
) -> list[tuple[str, str, str]]:
    """(as written, as sent, why) for each word that would become a listed one."""
    found = []
    for word, bare in changed_words(text, strip):
        for words in lists.values():
            why = words.why(bare)
            if why:
                found.append((word, bare, why))
                break
    return found


__all__ = ["UnsafeWords", "changed_words", "hazards", "parse", "shipped_lists"]
