"""The content the bot speaks from: text entries, data files and translations.

content/data/*.yaml hold facts (service hours, areas, helplines, services);
every other YAML file under content/ holds text entries. An entry's key is
the file's name plus its own name, e.g. content/flows/callback.yaml ->
`callback.voicemail`. See content/README.md for the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.content import plural
from bot.content.catalogs import Catalog, load_catalogs
from bot.content.loader import LineDict, LoadProblem, line_of, read_yaml
from bot.text import to_gsm_plain
from bot.types import Option, Reply

PLACEHOLDER = re.compile(r"\{([a-z0-9_.]+)\}")
ENTRY_FIELDS = {"sms", "rich", "long_read", "params", "options", "weight", "comment"}
OPTION_FIELDS = {"label", "words", "goto"}
RTL_LOCALES = {"ar", "fa", "he", "ur", "ps", "yi"}
# Data fields that are words, not numbers: they sit inside sentences, so they
# are translated too (context `services.refuge.phone:data`).
TRANSLATED_DATA = {"services": ("name", "phone"), "helplines": ("name",)}
DATA_NOTE = (
    "A fact from content/data used inside other texts, e.g. after 'You can get this help'. "
    "Keep phone numbers and organisation names; you may add a short explanation in brackets."
)


@dataclass
class OptionText:
    id: str
    label: str
    words: str = ""
    goto: str | None = None
    line: int = 0


@dataclass
class Entry:
    key: str
    sms: str
    rich: str | None
    file: Path
    line: int
    options: list[OptionText] = field(default_factory=list)
    params: tuple[str, ...] = ()
    long_read: bool = False
    weight: int = 0
    comment: str = ""

    def option(self, option_id: str) -> OptionText | None:
        return next((o for o in self.options if o.id == option_id), None)


class Content:
    """Every text and fact, plus the loaded translations, ready to render."""

    def __init__(
        self, root: Path, locales_dir: Path | None = None, files: list[Path] | None = None
    ) -> None:
        self.root = root
        self.files = sorted(files) if files is not None else text_files(root)
        self.entries: dict[str, Entry] = {}
        self.data: dict[str, Any] = {}
        self.data_files: dict[str, Path] = {}
        self.problems: list[LoadProblem] = []
        self._load()
        self.catalogs: dict[str, Catalog] = load_catalogs(locales_dir) if locales_dir else {}
        self._refs = self._flatten_data()
        self.data_entries: dict[str, Entry] = self._data_entries()

    # ----- loading -------------------------------------------------------
    def _load(self) -> None:
        for path in self.files:
            raw = read_yaml(path)
            self.problems.extend(raw.problems)
            if raw.data is None:
                continue
            if self.is_data_file(path):
                self.data[path.stem] = raw.data
                self.data_files[path.stem] = path
                continue
            if not isinstance(raw.data, dict):
                self.problems.append(
                    LoadProblem(path, 1, "a text file must be a mapping of entries")
                )
                continue
            for name, body in raw.data.items():
                self._add_entry(path, str(name), body)

    @staticmethod
    def is_data_file(path: Path) -> bool:
        return path.parent.name == "data"

    def _add_entry(self, path: Path, name: str, body: Any) -> None:
        key = f"{path.stem}.{name}"
        if isinstance(body, str):
            body = LineDict(sms=body)
        if not isinstance(body, dict):
            self.problems.append(LoadProblem(path, 1, f"{key}: an entry must be text or a mapping"))
            return
        line = line_of(body)
        for unknown in set(body) - ENTRY_FIELDS:
            self.problems.append(LoadProblem(path, line, f"{key}: unknown field {unknown!r}"))
        sms = body.get("sms")
        if not isinstance(sms, str) or not sms.strip():
            self.problems.append(LoadProblem(path, line, f"{key}: needs an 'sms' text"))
            sms = ""
        if key in self.entries:
            other = self.entries[key]
            self.problems.append(
                LoadProblem(path, line, f"{key}: also defined at {other.file.name}:{other.line}")
            )
        entry = Entry(
            key=key,
            sms=sms.strip(),
            rich=(body["rich"].strip() if isinstance(body.get("rich"), str) else None),
            file=path,
            line=line,
            params=tuple(body.get("params") or ()),
            long_read=bool(body.get("long_read", False)),
            weight=int(body.get("weight", 0) or 0),
            comment=str(body.get("comment", "") or ""),
        )
        for option_id, option in (body.get("options") or {}).items():
            entry.options.append(self._option(path, key, str(option_id), option, line))
        self.entries[key] = entry

    def _option(self, path: Path, key: str, option_id: str, body: Any, line: int) -> OptionText:
        if isinstance(body, str):
            return OptionText(option_id, body, line=line)
        if not isinstance(body, dict) or not isinstance(body.get("label"), str):
            self.problems.append(
                LoadProblem(path, line, f"{key}.{option_id}: option needs a label")
            )
            return OptionText(option_id, option_id, line=line)
        for unknown in set(body) - OPTION_FIELDS:
            self.problems.append(
                LoadProblem(path, line_of(body), f"{key}.{option_id}: unknown field {unknown!r}")
            )
        return OptionText(
            option_id,
            body["label"],
            str(body.get("words", "") or ""),
            body.get("goto"),
            line_of(body),
        )

    def _flatten_data(self) -> dict[str, str]:
        """Dotted references such as `helplines.ndah.phone` -> its text."""
        refs: dict[str, str] = {}

        def walk(prefix: str, value: Any) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}", v)
            elif isinstance(value, (str, int)) and not isinstance(value, bool):
                refs[prefix] = str(value)

        for name, value in self.data.items():
            walk(name, value)
        return refs

    def _data_entries(self) -> dict[str, Entry]:
        """The data fields named in TRANSLATED_DATA, as entries translators see."""
        found: dict[str, Entry] = {}
        for name, fields in TRANSLATED_DATA.items():
            records = self.data.get(name)
            if not isinstance(records, dict):
                continue
            for record_id, record in records.items():
                if not isinstance(record, dict):
                    continue
                for field_name in fields:
                    value = record.get(field_name)
                    if isinstance(value, str) and any(ch.isalpha() for ch in value):
                        ref = f"{name}.{record_id}.{field_name}"
                        found[ref] = Entry(
                            key=ref,
                            sms=value.strip(),
                            rich=None,
                            file=self.data_files[name],
                            line=line_of(record),
                            comment=DATA_NOTE,
                        )
        return found

    # ----- translation units --------------------------------------------
    def messages(self) -> list[tuple[str, str, Entry, str]]:
        """Every translatable string: (context, English, its entry, what it is)."""
        out: list[tuple[str, str, Entry, str]] = [
            (f"{ref}:data", entry.sms, entry, "data") for ref, entry in self.data_entries.items()
        ]
        for key, entry in self.entries.items():
            out.append((f"{key}:sms", entry.sms, entry, "sms"))
            if entry.rich:
                out.append((f"{key}:rich", entry.rich, entry, "rich"))
            for option in entry.options:
                out.append((f"{key}.{option.id}:label", option.label, entry, "label"))
                if option.words:
                    out.append((f"{key}.{option.id}:words", option.words, entry, "words"))
        return out

    # ----- lookup and rendering -----------------------------------------
    def __contains__(self, key: str) -> bool:
        return key in self.entries

    def entry(self, key: str) -> Entry:
        return self.entries[key]

    def translate(self, locale: str, context: str, english: str) -> str:
        catalog = self.catalogs.get(locale)
        if catalog is None:
            return english
        return catalog.get((context, english)) or english

    def fill(self, text: str, params: dict[str, Any] | None = None, locale: str = "en") -> str:
        params = params or {}
        text = plural.render(text, params, locale)

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in params:
                return str(params[name])
            data = self.data_entries.get(name)
            if data is not None:
                return self.translate(locale, f"{name}:data", data.sms)
            return self._refs.get(name, match.group(0))

        return PLACEHOLDER.sub(sub, text)

    def text(self, key: str, locale: str, params: dict[str, Any] | None = None) -> str:
        entry = self.entries[key]
        return self.fill(self.translate(locale, f"{key}:sms", entry.sms), params, locale)

    def counted(self, key: str, count: int, locale: str) -> str:
        """A shared counted word such as `words.days` ("28 de zile"), as a param value."""
        return self.text(key, locale, {"n": count})

    def label(self, key: str, option_id: str, locale: str) -> str:
        option = self.entries[key].option(option_id)
        if option is None:
            raise KeyError(f"{key}.{option_id}")
        return self.fill(
            self.translate(locale, f"{key}.{option_id}:label", option.label), locale=locale
        )

    def words(self, key: str, option_id: str, locale: str) -> list[str]:
        """Everything a person may type for an option: its label and its synonyms."""
        option = self.entries[key].option(option_id)
        if option is None:
            return []
        found = [option.label, *option.words.split(",")]
        if locale != "en":
            found.append(self.translate(locale, f"{key}.{option_id}:label", option.label))
            if option.words:
                found.extend(
                    self.translate(locale, f"{key}.{option_id}:words", option.words).split(",")
                )
        return [w.strip() for w in found if w.strip()]

    def reply(
        self,
        key: str,
        locale: str,
        params: dict[str, Any] | None = None,
        options: list[str] | None = None,
        action: str | None = None,
        option_labels: dict[str, str] | None = None,
    ) -> Reply:
        """Render one entry in a locale; `options` narrows or orders its options."""
        entry = self.entries[key]
        sms = self.fill(self.translate(locale, f"{key}:sms", entry.sms), params, locale)
        rich = sms
        if entry.rich:
            rich = self.fill(self.translate(locale, f"{key}:rich", entry.rich), params, locale)
        ids = options if options is not None else [o.id for o in entry.options]
        labels = option_labels or {}
        rendered = tuple(
            Option(i, labels[i] if i in labels else self.label(key, i, locale)) for i in ids
        )
        return Reply(
            key=key,
            sms=to_gsm_plain(sms),
            rich=rich,
            locale=locale,
            options=rendered,
            action=action,
            direction="rtl" if locale.split("_")[0] in RTL_LOCALES else "ltr",
        )


PATTERN_FOLDER = "safety"  # per-language safety patterns: not texts, never translated


def text_files(root: Path) -> list[Path]:
    """Every content YAML file but the safety patterns (bot/safety reads those)."""
    return sorted(p for p in root.rglob("*.yaml") if p.parent.name != PATTERN_FOLDER)


def load_content(root: Path, locales_dir: Path | None) -> Content:
    return Content(root, locales_dir)
