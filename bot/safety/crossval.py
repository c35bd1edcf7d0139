"""Cross-validate the whole screen (patterns and classifier) on the training split.

    python -m bot.safety.crossval [--show LANG]

The classifier is trained on four fifths of the training messages and the
screen reads the fifth it never saw, five times over; the table has the
same form as `frontdoor safety eval`. It measures a change without reading
the held-out split. The patterns were written from these messages, so their
share of the figures is optimistic: new messages added before new phrases
give the honest reading. `--show LANG` lists that language's misses and
false alarms.
"""

from __future__ import annotations

import sys

import numpy as np

from bot.safety.classifier import FOLDS, train
from bot.safety.corpus import Labelled, read_training
from bot.safety.evaluate import Report, evaluate, table
from bot.safety.screen import SafetyScreen
from bot.settings import PROJECT_ROOT, get_settings

CORPUS = PROJECT_ROOT / "tests" / "data" / "safety"


def cross_validate(screen: SafetyScreen, messages: list[Labelled]) -> Report:
    """One report over every fold, each read by a model that never saw it."""
    folds = np.arange(len(messages)) % FOLDS
    merged = Report()
    for fold in range(FOLDS):
        inside = [m for m, f in zip(messages, folds, strict=True) if f != fold]
        outside = [m for m, f in zip(messages, folds, strict=True) if f == fold]
        screen.model = train(inside, f"fold {fold}")
        report = evaluate(screen, outside)
        for key, tally in report.recall.items():
            merged.recall[key].found += tally.found
            merged.recall[key].total += tally.total
        for signal, tally in report.alarms.items():
            merged.alarms[signal].found += tally.found
            merged.alarms[signal].total += tally.total
        merged.misses.extend(report.misses)
        merged.false.extend(report.false)
    return merged


def main(argv: list[str]) -> int:
    show = argv[argv.index("--show") + 1] if "--show" in argv else None
    languages = get_settings().locales
    screen = SafetyScreen(PROJECT_ROOT / "content" / "safety", languages)
    report = cross_validate(screen, read_training(CORPUS))
    print(table(report, languages))
    if show:
        for signal, language, text in report.misses:
            if language == show:
                print(f"missed {signal}: {text}")
        for signals, language, text in report.false:
            if language == show:
                print(f"false alarm {signals}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
