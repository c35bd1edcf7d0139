"""The labelled messages the screen is trained and measured on.

`tests/data/safety/{train,heldout}/LANG.tsv`: one message a line,
`labels<TAB>text`, labels `none` or signals joined by commas. The held-out
split is never used for training or for writing patterns.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from bot.safety.patterns import SIGNALS


@dataclass(frozen=True, slots=True)
class Labelled:
    language: str
    labels: frozenset[str]
    text: str


class CorpusError(ValueError):
    """A corpus line that cannot be read."""


def read_split(root: Path, split: str, language: str | None = None) -> list[Labelled]:
    """Every message of a split (or of one language in it), in file order."""
    files = sorted((root / split).glob("*.tsv"))
    out: list[Labelled] = []
    for path in files:
        if language is not None and path.stem != language:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            labels, tab, text = line.partition("\t")
            if not tab or not text.strip():
                raise CorpusError(f"{path.name}:{number}: expected labels<TAB>text")
            found = frozenset() if labels == "none" else frozenset(labels.split(","))
            unknown = found - set(SIGNALS)
            if unknown:
                raise CorpusError(f"{path.name}:{number}: unknown label {sorted(unknown)}")
            out.append(Labelled(path.stem, found, text.strip()))
    return out


def fingerprint(root: Path, split: str) -> str:
    """A hash of a split's files, kept in the model so a stale model is noticed."""
    digest = hashlib.sha256()
    for path in sorted((root / split).glob("*.tsv")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
