"""Base forms of words, per language, with Snowball stemmers (PyStemmer, in C).

"hits", "hitting" and "hit" share one stem, and so do Polish or Lithuanian
inflections. Languages without a Snowball stemmer (Bulgarian, Ukrainian, Urdu)
keep the word whole; their patterns use prefixes (`бий*`) instead.
"""

from __future__ import annotations

from functools import lru_cache

import Stemmer

from bot.safety.tokens import squeeze

ALGORITHMS = frozenset(Stemmer.algorithms())


class Stems:
    """The stem of a word in one language, remembered once computed."""

    def __init__(self, algorithm: str | None) -> None:
        if algorithm and algorithm not in ALGORITHMS:
            raise ValueError(f"unknown stemmer {algorithm!r}")
        self.algorithm = algorithm
        self._stemmer = Stemmer.Stemmer(algorithm) if algorithm else None
        self.key = lru_cache(maxsize=20_000)(self._key)

    def _key(self, word: str) -> str:
        """The comparable form of one normalised word: its stem, letters squeezed."""
        stem = self._stemmer.stemWord(word) if self._stemmer is not None else word
        return squeeze(stem)
