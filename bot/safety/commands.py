"""`frontdoor safety train` and `frontdoor safety eval`."""

from __future__ import annotations

from pathlib import Path

from bot.safety.classifier import MODEL_PATH, train
from bot.safety.corpus import fingerprint, read_split, read_training
from bot.safety.evaluate import evaluate, table
from bot.safety.screen import SafetyScreen
from bot.settings import PROJECT_ROOT, Settings

CORPUS = PROJECT_ROOT / "tests" / "data" / "safety"


def run_train(_settings: Settings, corpus: Path = CORPUS, out: Path = MODEL_PATH) -> int:
    messages = read_training(corpus)
    model = train(messages, fingerprint(corpus))
    model.save(out)
    thresholds = ", ".join(
        f"{s} {t:.2f}" for s, t in zip(model.signals, model.thresholds.tolist(), strict=True)
    )
    weights = model.weights.nnz
    print(f"trained on {len(messages)} messages; {weights} weights; thresholds: {thresholds}")
    print(f"wrote {out.relative_to(PROJECT_ROOT) if out.is_relative_to(PROJECT_ROOT) else out}")
    return 0


def run_eval(
    settings: Settings, show: bool = False, corpus: Path = CORPUS, split: str = "heldout"
) -> int:
    """The held-out split is the test (read it sparingly, never to write patterns);
    the dev split may be read as often as a change needs."""
    splits = sorted(p.name for p in corpus.iterdir() if p.is_dir())
    if split not in splits:
        print(f"no split called {split!r}; the splits are: {', '.join(splits)}")
        return 2
    languages = settings.locales
    screen = SafetyScreen(settings.content_dir / "safety", languages)
    messages = read_split(corpus, split)
    report = evaluate(screen, messages)
    print(f"{'held-out' if split == 'heldout' else split} split: {len(messages)} messages")
    print(table(report, [lang for lang in languages if any(m.language == lang for m in messages)]))
    if show:
        for signal, language, text in report.misses:
            print(f"missed {signal} [{language}]: {text}")
        for signals, language, text in report.false:
            print(f"false alarm {signals} [{language}]: {text}")
    print("targets met" if report.meets_targets() else "targets NOT met")
    return 0 if report.meets_targets() else 1
