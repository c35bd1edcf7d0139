"""Measure the screen on the held-out messages: recall per signal and
language, and the false-alarm rate on ordinary messages.

The targets the service set: danger_now recall at least 97%, crisis 95%,
child and harm_risk 90%, false alarms at most 3%.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from bot.safety.corpus import Labelled
from bot.safety.patterns import SIGNALS
from bot.safety.screen import SafetyScreen

TARGETS = {"danger_now": 0.97, "crisis": 0.95, "child": 0.90, "harm_risk": 0.90}
MAX_FALSE_ALARMS = 0.03


@dataclass
class Tally:
    found: int = 0
    total: int = 0

    @property
    def rate(self) -> float | None:
        return self.found / self.total if self.total else None


@dataclass
class Report:
    recall: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    alarms: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # signal, language, text
    false: list[tuple[str, str, str]] = field(default_factory=list)

    def overall(self, signal: str) -> Tally:
        tally = Tally()
        for (kind, _language), t in self.recall.items():
            if kind == signal:
                tally.found += t.found
                tally.total += t.total
        return tally

    def alarm_rate(self) -> Tally:
        return Tally(
            sum(t.found for t in self.alarms.values()), sum(t.total for t in self.alarms.values())
        )

    def meets_targets(self) -> bool:
        recall_ok = all((self.overall(s).rate or 0) >= TARGETS[s] for s in SIGNALS)
        return recall_ok and (self.alarm_rate().rate or 0) <= MAX_FALSE_ALARMS


def evaluate(screen: SafetyScreen, messages: list[Labelled]) -> Report:
    report = Report()
    for message in messages:
        got = set(screen.read(message.text, message.language).kinds)
        for signal in message.labels:
            tally = report.recall[(signal, message.language)]
            tally.total += 1
            if signal in got:
                tally.found += 1
            else:
                report.misses.append((signal, message.language, message.text))
        if not message.labels:
            tally = report.alarms[message.language]
            tally.total += 1
            if got:
                tally.found += 1
                report.false.append((",".join(sorted(got)), message.language, message.text))
    return report


def _cell(tally: Tally) -> str:
    return "-" if tally.rate is None else f"{tally.rate * 100:5.1f}% ({tally.found}/{tally.total})"


def table(report: Report, languages: list[str]) -> str:
    """A Markdown table: a row per language, a column per signal, false alarms last."""
    header = ["language", *SIGNALS, "false alarms"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for language in languages:
        cells = [_cell(report.recall[(s, language)]) for s in SIGNALS]
        lines.append(
            f"| {language} | " + " | ".join(cells) + f" | {_cell(report.alarms[language])} |"
        )
    cells = [_cell(report.overall(s)) for s in SIGNALS]
    lines.append("| **all** | " + " | ".join(cells) + f" | {_cell(report.alarm_rate())} |")
    targets = [f">= {TARGETS[s] * 100:.0f}%" for s in SIGNALS]
    lines.append("| target | " + " | ".join(targets) + f" | <= {MAX_FALSE_ALARMS * 100:.0f}% |")
    return "\n".join(lines)
