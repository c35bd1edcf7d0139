"""Prove the safety pattern files sound (run by `frontdoor content check`).

Every shipped language has a file that loads; every group names a known
signal or indicator; every `examples` line raises what its group raises and
no `negated` line does, read exactly as the screen reads a message.
"""

from __future__ import annotations

from pathlib import Path

from bot.safety.patterns import PatternSet, load_pattern_file


def _raises(patterns: PatternSet, text: str, signal: str | None, indicator: str | None) -> bool:
    for hit in patterns.find(text):
        if hit.negated:
            continue
        if signal and hit.signal == signal and not hit.past:
            return True
        if not signal and indicator and hit.indicator == indicator:
            return True
    return False


def check_patterns(pattern_dir: Path, locales: list[str]) -> list[tuple[Path, int, str]]:
    problems: list[tuple[Path, int, str]] = []
    for language in dict.fromkeys(["en", *locales]):
        path = pattern_dir / f"{language}.yaml"
        if not path.exists():
            problems.append((path, 1, f"no safety patterns for shipped language {language}"))
            continue
        loaded = load_pattern_file(path)
        problems.extend((path, line, message) for line, message in loaded.problems)
        patterns = loaded.patterns
        if patterns is None:
            continue
        if patterns.language != language:
            problems.append((path, 1, f"says language {patterns.language!r}, file is {language}"))
        for group in patterns.groups:
            if group.signal and not group.examples:
                problems.append((path, group.line, f"{group.signal}: give at least one example"))
            for example in group.examples:
                if not _raises(patterns, example, group.signal, group.indicator):
                    what = group.signal or group.indicator
                    problems.append(
                        (path, group.line, f"{what}: example does not fire: {example!r}")
                    )
            for example in group.negated:
                if _raises(patterns, example, group.signal, group.indicator):
                    what = group.signal or group.indicator
                    problems.append(
                        (path, group.line, f"{what}: fires on its negation: {example!r}")
                    )
    return problems
