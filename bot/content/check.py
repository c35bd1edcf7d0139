"""`frontdoor content check`: prove the content sound before anyone reads it.

Checks schema, every reference (data, params, keys named in code, gotos,
flow steps), reachability and dead ends, the SMS character set and segment
budget, every shipped locale (complete, nothing fuzzy, placeholders and
plural forms kept, within its own encoding's budget, no word that dropping
accents for GSM-7 would make offensive) and the safety pattern files
(bot/safety/check.py). Prints `file:line: problem` and exits 1 on any
problem; lists placeholders that the service must still confirm.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from bot.channels.render import sms_text
from bot.content import plural
from bot.content.catalogs import DOMAIN, read_catalog
from bot.content.model import PLACEHOLDER, Content, Entry, load_content
from bot.content.transliteration import hazards
from bot.content.transliteration import parse as parse_unsafe
from bot.flows import FLOW_NAMES, build_flows
from bot.flows.base import Choice, Flow
from bot.flows.info import info_keys
from bot.safety.check import check_patterns
from bot.settings import PROJECT_ROOT, Settings
from bot.text import is_gsm7, sms_segments, strip_accents
from bot.types import Option, Reply

AUDIENCE_MENUS = ("menus.me", "menus.someone_else", "menus.own_behaviour", "menus.professional")
MAX_OPTIONS = 5
MAX_DEPTH = 3
BUDGET = {"GSM-7": 2, "UCS-2": 3}  # segments per message
LONG_READ_BUDGET = {"GSM-7": 4, "UCS-2": 6}
# Emergency guidance is complete in every language, verbs and "then" kept,
# even where that needs a third GSM-7 or a fourth UCS-2 segment.
SAFETY_BUDGET = {"GSM-7": 3, "UCS-2": 4}
SAFETY_KEYS = frozenset({"words.danger", "safety.emergency"})
UNSAFE_WORDS = "transliteration"  # content/data/transliteration.yaml
SENT_BY_SMS = frozenset({"sms", "label", "data"})  # message kinds an SMS carries
SAMPLE = "x" * 12  # stands in for a value the code fills in
# Option ids travel as Telegram button data, which holds at most 64 bytes.
OPTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
WORD_LISTS = "words"  # words.yaml options are word lists, never shown
CODE_KEY = re.compile(r"""["']([a-z_]+\.[a-z0-9_]*[a-z0-9])["']""")


@dataclass(frozen=True)
class Problem:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{shown(self.file)}:{self.line}: {self.message}"


def shown(path: Path) -> str:
    """A path as a person editing the project would type it."""
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


class Checker:
    def __init__(self, content: Content, locales: list[str], locales_dir: Path) -> None:
        self.content = content
        self.locales = locales
        self.locales_dir = locales_dir
        self.problems: list[Problem] = [
            Problem(p.file, p.line, p.message) for p in content.problems
        ]
        self.unsafe = parse_unsafe(content.data.get(UNSAFE_WORDS))

    def add(self, entry: Entry, message: str, line: int | None = None) -> None:
        self.problems.append(Problem(entry.file, line or entry.line, f"{entry.key}: {message}"))

    # ----- entries ---------------------------------------------------------
    def check_entries(self) -> None:
        for entry in self.content.entries.values():
            self._check_entry(entry)

    def _check_entry(self, entry: Entry) -> None:
        shown = entry.file.stem != WORD_LISTS
        if not is_gsm7(entry.sms):
            bad = "".join(sorted({ch for ch in entry.sms if not is_gsm7(ch)}))
            self.add(entry, f"sms has characters outside GSM-7: {bad!r}")
        if shown and len(entry.options) > MAX_OPTIONS:
            self.add(entry, f"{len(entry.options)} options; at most {MAX_OPTIONS}")
        for option in entry.options:
            if not OPTION_ID.match(option.id):
                self.add(
                    entry,
                    f"option id {option.id!r} must be lower_case_words, at most 64 characters",
                    option.line,
                )
            if shown and not is_gsm7(option.label):
                self.add(entry, f"option {option.id} label is not GSM-7", option.line)
        for text in filter(None, (entry.sms, entry.rich, *(o.label for o in entry.options))):
            self._check_plural(entry, text)
            for name in PLACEHOLDER.findall(text):
                if "." in name:
                    if name not in self.content._refs:  # noqa: SLF001 - the check may look inside
                        self.add(entry, f"{{{name}}} is not in content/data")
                elif name not in entry.params:
                    self.add(entry, f"{{{name}}} is not listed in params")
        if shown:
            self._check_budget(entry, "en", sms_len_reply(self.content, entry, "en"))

    def _check_plural(self, entry: Entry, text: str) -> None:
        try:
            found = plural.blocks(text)
        except plural.PluralError as error:
            self.add(entry, str(error))
            return
        for block in found:
            if block.name not in entry.params:
                self.add(entry, f"{{{block.name}, plural}}: {block.name} is not listed in params")

    def _check_budget(self, entry: Entry, locale: str, reply: Reply) -> None:
        encoding, segments = sms_segments(sms_text(reply))
        table = BUDGET
        if entry.long_read:
            table = LONG_READ_BUDGET
        elif entry.key in SAFETY_KEYS:
            table = SAFETY_BUDGET
        budget = table[encoding]
        if locale == "en" and encoding != "GSM-7":
            return  # reported as a character-set problem already
        if segments > budget:
            self.add(
                entry,
                f"[{locale}] SMS with options is {segments} {encoding} segments; at most {budget}",
            )

    # ----- references from code ---------------------------------------------
    def check_code_keys(self, code_root: Path) -> None:
        stems = {key.split(".", 1)[0] for key in self.content.entries}
        for path in sorted(code_root.rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for key in CODE_KEY.findall(line):
                    if key.split(".", 1)[0] in stems and key not in self.content:
                        self.problems.append(Problem(path, number, f"content key {key} not found"))

    # ----- flows --------------------------------------------------------------
    def check_flows(self, flows: dict[str, Flow]) -> None:
        for flow in flows.values():
            for name, step in flow.steps.items():
                if step.key not in self.content:
                    self.problems.append(
                        Problem(
                            PROJECT_ROOT / "bot" / "flows",
                            1,
                            f"flow {flow.name} step {name}: content {step.key} missing",
                        )
                    )
                    continue
                entry = self.content.entry(step.key)
                if step.before and step.before not in self.content:
                    self.add(entry, f"step {name} says {step.before}, which is missing")
                if isinstance(step, Choice):
                    for option_id in step.routes:
                        # The language menu's options are the shipped locales, named by CLDR.
                        if entry.option(option_id) is None and flow.name != "language":
                            self.add(entry, f"flow {flow.name} needs option {option_id!r}")
                    for option in entry.options:
                        if option.id not in step.routes:
                            self.add(entry, f"option {option.id!r} leads nowhere", option.line)
            self._check_reachable(flow)
        self._check_flows_reached(flows)

    def _check_reachable(self, flow: Flow) -> None:
        graph = flow.targets()
        for state, dests in graph.items():
            if not dests:
                entry = self.content.entries.get(flow.steps[state].key)
                if entry:
                    self.add(entry, f"flow {flow.name} state {state} is a dead end")
        if flow.name in ("info", "support"):
            return  # info: checked from the audience menus; support: entered per signal
        seen, queue = {flow.initial}, deque([flow.initial])
        while queue:
            for dest in graph.get(queue.popleft(), []):
                if dest in graph and dest not in seen:
                    seen.add(dest)
                    queue.append(dest)
        for state in graph:
            if state not in seen:
                entry = self.content.entries.get(flow.steps[state].key)
                if entry:
                    self.add(entry, f"flow {flow.name} state {state} can never be reached")

    def _check_flows_reached(self, flows: dict[str, Flow]) -> None:
        # The start, the LANGUAGE and MY REQUEST words, and the safety screen's
        # replies (each support step is entered by the engine when its signal
        # is raised).
        targeted = {"first_contact", "language", "my_request", "support"}
        for flow in flows.values():
            for dests in flow.targets().values():
                for dest in dests:
                    if dest.startswith("@"):
                        name = dest[1:].split(":", 1)[0]
                        targeted.add("info" if name == "menu" else name)
                        if name not in flows and name not in ("menu", "end", "back"):
                            self.problems.append(
                                Problem(
                                    PROJECT_ROOT / "bot" / "flows",
                                    1,
                                    f"flow {flow.name} leads to unknown flow {name}",
                                )
                            )
        for name in flows:
            if name not in targeted:
                self.problems.append(
                    Problem(PROJECT_ROOT / "bot" / "flows", 1, f"flow {name} is never reached")
                )

    # ----- info menus -----------------------------------------------------
    def check_info(self, flows: Collection[str]) -> None:
        keys = set(info_keys(self.content))
        for menu in AUDIENCE_MENUS:
            if menu not in self.content:
                self.problems.append(
                    Problem(self.content.root / "info", 1, f"audience menu {menu} is missing")
                )
        for key in keys:
            entry = self.content.entry(key)
            if not entry.options:
                self.add(entry, "no options: a dead end")
            for option in entry.options:
                goto = option.goto or "menu"
                if goto == "menu":
                    continue
                if goto.startswith("flow:"):
                    if goto.removeprefix("flow:") not in flows:
                        self.add(entry, f"goto {goto}: no such flow", option.line)
                elif goto not in keys:
                    self.add(entry, f"goto {goto}: no such info entry", option.line)
        depth: dict[str, int] = {}
        queue = deque((menu, 0) for menu in AUDIENCE_MENUS if menu in keys)
        while queue:
            key, level = queue.popleft()
            if key in depth:
                continue
            depth[key] = level
            for option in self.content.entry(key).options:
                if option.goto in keys and option.goto not in depth:
                    queue.append((option.goto, level + 1))
        for key in sorted(keys):
            entry = self.content.entry(key)
            if key not in depth:
                self.add(entry, "cannot be reached from any audience menu")
            elif depth[key] > MAX_DEPTH:
                self.add(entry, f"{depth[key]} replies from its menu; at most {MAX_DEPTH}")

    # ----- locales ------------------------------------------------------------
    def check_locales(self) -> None:
        messages = self.content.messages()
        for locale in self.locales:
            if locale == "en":
                continue
            po = self.locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
            if not po.exists():
                self.problems.append(Problem(po, 1, f"[{locale}] shipped but has no catalog"))
                continue
            catalog = {(m.context, m.id): m for m in read_catalog(po, locale) if m.id}
            for context, english, entry, kind in messages:
                message = catalog.get((context, english))
                if message is None or not isinstance(message.string, str) or not message.string:
                    self.add(entry, f"[{locale}] not translated: {context}")
                    continue
                if message.fuzzy:
                    self.add(entry, f"[{locale}] fuzzy (needs review): {context}")
                if used_names(english) != used_names(message.string):
                    self.add(entry, f"[{locale}] placeholders differ in {context}")
                for problem in plural.problems(message.string, locale):
                    self.add(entry, f"[{locale}] {context}: {problem}")
                if kind in SENT_BY_SMS:
                    self._check_stripped(entry, locale, context, message.string)
            for entry in self.content.entries.values():
                if entry.file.stem != WORD_LISTS:
                    self._check_budget(entry, locale, sms_len_reply(self.content, entry, locale))

    def _check_stripped(self, entry: Entry, locale: str, context: str, text: str) -> None:
        """Refuse a text whose accents, dropped for GSM-7, leave a listed word."""
        lists = self.unsafe.get(locale)
        if lists is None:
            return
        found: dict[str, tuple[str, str, str]] = {}
        for word, bare, why in hazards(text, strip_accents, {locale: lists}):
            found.setdefault(bare.casefold(), (word, bare, why))  # "Sık sık": once
        for word, bare, why in found.values():
            self.add(entry, f'[{locale}] {context}: "{word}" is sent as "{bare}" by SMS: {why}')

    # ----- placeholders to confirm ---------------------------------------
    def unconfirmed(self) -> list[str]:
        found = []
        for name, data in self.content.data.items():
            path = self.content.data_files[name]
            for record_id, record in _records(data):
                if isinstance(record, dict) and record.get("confirmed") is False:
                    line = getattr(record, "line", 1)
                    found.append(f"{shown(path)}:{line}: {name}.{record_id}")
        return found


def used_names(text: str) -> list[str]:
    """The params and data a text uses; a plural block counts as its param once.

    So a translation may write English's `{days}` as `{days, plural, ...}`
    where its grammar needs the forms.
    """
    try:
        found = plural.blocks(text)
    except plural.PluralError:
        return sorted(PLACEHOLDER.findall(text))  # reported as a plural problem
    names: list[str] = []
    position = 0
    for block in found:
        names += PLACEHOLDER.findall(text[position : block.start])
        names.append(block.name)
        names += sorted({n for form in block.forms.values() for n in PLACEHOLDER.findall(form)})
        position = block.end
    names += PLACEHOLDER.findall(text[position:])
    return sorted(names)


def _records(data: object, prefix: str = "") -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    if isinstance(data, dict):
        if "confirmed" in data:
            out.append((prefix or "(file)", data))
        for key, value in data.items():
            if isinstance(value, dict):
                out.extend(_records(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def sms_len_reply(content: Content, entry: Entry, locale: str) -> Reply:
    """The entry as it would be sent, with sample values for its params."""
    params = {name: SAMPLE for name in entry.params}
    rendered = content.reply(entry.key, locale, params, options=[])
    options = tuple(Option(o.id, content.label(entry.key, o.id, locale)) for o in entry.options)
    return Reply(entry.key, rendered.sms, rendered.rich, locale, options)


def check(settings: Settings) -> tuple[list[Problem], list[str], Content]:
    content = load_content(settings.content_dir, settings.locales_dir)
    checker = Checker(content, settings.locales, settings.locales_dir)
    if content.problems:
        return checker.problems, [], content
    checker.check_entries()
    checker.check_code_keys(PROJECT_ROOT / "bot")
    checker.check_info(FLOW_NAMES)
    if checker.problems:
        return checker.problems, checker.unconfirmed(), content
    try:
        flows = build_flows(content, settings.locales)
    except Exception as exc:  # noqa: BLE001 - a broken flow is a problem to report
        checker.problems.append(Problem(PROJECT_ROOT / "bot" / "flows", 1, f"flows: {exc}"))
        return checker.problems, checker.unconfirmed(), content
    checker.check_flows(flows)
    checker.check_locales()
    for path, line, message in check_patterns(settings.content_dir / "safety", settings.locales):
        checker.problems.append(Problem(path, line, f"safety: {message}"))
    return checker.problems, checker.unconfirmed(), content


def run_check(settings: Settings) -> int:
    problems, unconfirmed, content = check(settings)
    for problem in problems:
        print(problem)
    if unconfirmed:
        print(f"{len(unconfirmed)} fact(s) still to confirm (marked confirmed: false):")
        for line in unconfirmed:
            print(f"  {line}")
    if problems:
        print(f"content check failed: {len(problems)} problem(s)")
        return 1
    print(f"content OK: {len(content.entries)} entries, locales {', '.join(settings.locales)}")
    return 0


__all__ = ["check", "run_check"]
