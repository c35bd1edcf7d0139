"""Review one language's patterns against its labelled training messages.

    python -m bot.safety.review LANG

Prints every `examples` line that does not fire, every `negated` line that
does, and, for the training split only, each message whose patterns miss a
labelled signal or raise one it does not carry. Never point it at the
held-out split while writing patterns: that split is the test.
"""

from __future__ import annotations

import sys

from bot.safety.corpus import read_training
from bot.safety.patterns import load_pattern_file
from bot.settings import PROJECT_ROOT


def main(language: str) -> int:
    loaded = load_pattern_file(PROJECT_ROOT / "content" / "safety" / f"{language}.yaml")
    for line, problem in loaded.problems:
        print(f"{language}.yaml:{line}: {problem}")
    patterns = loaded.patterns
    if patterns is None:
        return 1

    def raised(text: str) -> set[str]:
        return {h.signal for h in patterns.find(text) if h.signal and not h.negated and not h.past}

    for group in patterns.groups:
        for example in group.examples:
            if group.signal and group.signal not in raised(example):
                print(f"EXAMPLE MISSED  {group.signal}: {example}")
        for example in group.negated:
            if group.signal and group.signal in raised(example):
                print(f"NEGATED FIRES   {group.signal}: {example}")
    misses = alarms = total = 0
    for message in read_training(PROJECT_ROOT / "tests" / "data" / "safety", language):
        total += 1
        got = raised(message.text)
        for signal in sorted(message.labels - got):
            misses += 1
            print(f"MISS   {signal:10} | {message.text}")
        for signal in sorted(got - message.labels):
            alarms += 1
            why = [h.phrase for h in patterns.find(message.text) if h.signal == signal]
            print(f"ALARM  {signal:10} | {message.text}   <- {why}")
    print(f"{total} training messages: {misses} missed signals, {alarms} false signals")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "en"))
