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


# What the classifier learns from: every split but the held-out one. A round
# of fresh messages (probe, probe2...) is read by `frontdoor safety eval
# --split` before its phrases are written; once they are, it teaches the
# classifier too, and the next round starts with new messages.
TRAINING_SPLITS = ("train", "dev", "probe", "probe2")


def read_training(root: Path, language: str | None = None) -> list[Labelled]:
    """Every message the classifier is trained on, split by split."""
    return [m for split in TRAINING_SPLITS for m in read_split(root, split, language)]


def fingerprint(root: Path, splits: tuple[str, ...] = TRAINING_SPLITS) -> str:
    """A hash of the splits' files, kept in the model so a stale model is noticed."""
    digest = hashlib.sha256()
    for split in splits:
        for path in sorted((root / split).glob("*.tsv")):
            digest.update(f"{split}/{path.name}".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
