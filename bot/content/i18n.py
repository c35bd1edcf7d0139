"""`frontdoor i18n extract|update|compile|status|init`: Babel's workflow in one place.

extract: content + code -> locales/messages.pot
update:  messages.pot -> every locales/<locale>/LC_MESSAGES/messages.po
compile: .po -> .mo (for standard tools; the bot reads .po directly)
status:  per-locale completeness, fuzzy and missing counts, and review state
missing: every entry a catalog still lacks, with its English text (YAML)
fill:    extract, update, then write translations from a YAML file
         (`context: {locale: text}`), all under one lock so two people filling
         at once never overwrite each other's work
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypedDict

import yaml
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import write_po

from bot.content.catalogs import DOMAIN, po_path, read_catalog
from bot.settings import PROJECT_ROOT, Settings

POT = "messages.pot"
DRAFT_MARK = "DRAFT"


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract(locales_dir: Path) -> Path:
    pot = locales_dir / POT
    here = Path.cwd()
    os.chdir(PROJECT_ROOT)  # so catalogs name files relative to the project
    try:
        pybabel(
            "extract",
            "-F",
            "babel.cfg",
            "-o",
            str(pot),
            "--project",
            "Front Door",
            "--sort-by-file",
            "--no-wrap",
            "--omit-header",
            ".",
        )
    finally:
        os.chdir(here)
    return pot


@contextmanager
def catalogs_locked(locales_dir: Path) -> Iterator[None]:
    """One writer of the catalogs at a time (extract, update and fill rewrite them)."""
    with (locales_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def update(locales_dir: Path) -> None:
    pybabel(
        "update",
        "-i",
        str(locales_dir / POT),
        "-d",
        str(locales_dir),
        "--previous",
        "--no-wrap",
        "--ignore-obsolete",  # a removed entry leaves no dead translation behind
    )


def _locales(locales_dir: Path) -> list[str]:
    return sorted(p.parent.parent.name for p in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))


def missing(locales_dir: Path, only: str | None = None) -> dict[str, dict[str, str]]:
    """context -> {"en": English, locale: "" for each catalog lacking it (or fuzzy)}."""
    pot = read_catalog(locales_dir / POT, "en")
    english = {m.context: m.id for m in pot if m.id and m.context}
    out: dict[str, dict[str, str]] = {}
    for locale in _locales(locales_dir):
        if only and locale != only:
            continue
        catalog = read_catalog(po_path(locales_dir, locale), locale)
        for context, text in english.items():
            found = catalog.get(text, context)
            if found is None or not found.string or found.fuzzy:
                out.setdefault(context, {"en": str(text)})[locale] = ""
    return out


def fill(locales_dir: Path, translations: dict[str, dict[str, str]]) -> list[str]:
    """Write `context: {locale: text}` into the catalogs; returns problems found."""
    problems: list[str] = []
    with catalogs_locked(locales_dir):
        extract(locales_dir)
        update(locales_dir)
        pot = read_catalog(locales_dir / POT, "en")
        english = {m.context: m.id for m in pot if m.id and m.context}
        for locale in _locales(locales_dir):
            path = po_path(locales_dir, locale)
            catalog = read_catalog(path, locale)
            changed = False
            for context, texts in translations.items():
                text = (texts or {}).get(locale)
                if not text:
                    continue
                if context not in english:
                    problems.append(f"{context}: not in the template (run content check)")
                    continue
                message = catalog.get(english[context], context)
                if message is None:
                    problems.append(f"[{locale}] {context}: not in the catalog")
                    continue
                message.string = str(text).strip()
                message.flags.discard("fuzzy")
                message.previous_id = []
                changed = True
            if changed:
                with path.open("wb") as handle:
                    write_po(handle, catalog, width=0, include_previous=True)
    return problems


class CatalogStatus(TypedDict):
    locale: str
    translated: int
    total: int
    fuzzy: int
    missing: int
    review: str


def status(settings: Settings) -> list[CatalogStatus]:
    """Completeness of every catalog against the current template."""
    pot = read_catalog(settings.locales_dir / POT, "en")
    wanted = {(m.context, m.id) for m in pot if m.id}
    rows: list[CatalogStatus] = []
    for po in sorted(settings.locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        locale = po.parent.parent.name
        catalog = read_catalog(po, locale)
        done = {(m.context, m.id) for m in catalog if m.id and m.string and not m.fuzzy}
        fuzzy = sum(1 for m in catalog if m.id and m.fuzzy)
        header = f"{catalog.header_comment or ''}"
        rows.append(
            {
                "locale": locale,
                "translated": len(wanted & done),
                "total": len(wanted),
                "fuzzy": fuzzy,
                "missing": len(wanted - done),
                "review": "draft, needs native review" if DRAFT_MARK in header else "reviewed",
            }
        )
    return rows


def run(action: str, settings: Settings, locale: str | None, path: str | None = None) -> int:
    locales_dir = settings.locales_dir
    if action == "extract":
        with catalogs_locked(locales_dir):
            print(f"wrote {extract(locales_dir)}")
    elif action == "missing":
        with catalogs_locked(locales_dir):
            extract(locales_dir)
            update(locales_dir)
        print(yaml.safe_dump(missing(locales_dir, locale), allow_unicode=True, sort_keys=False))
    elif action == "fill":
        if not path:
            print("fill needs --file, a YAML file of `context: {locale: text}`")
            return 2
        translations = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        problems = fill(locales_dir, translations)
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    elif action == "init":
        if not locale:
            print("init needs --locale, e.g. --locale pl")
            return 2
        pybabel("init", "-i", str(locales_dir / POT), "-d", str(locales_dir), "-l", locale)
    elif action == "update":
        with catalogs_locked(locales_dir):
            update(locales_dir)
    elif action == "compile":
        pybabel("compile", "-d", str(locales_dir), "--statistics")
    elif action == "status":
        for row in status(settings):
            percent = 100 * row["translated"] // max(1, row["total"])
            print(
                f"{row['locale']}: {percent}% ({row['translated']}/{row['total']}), "
                f"fuzzy {row['fuzzy']}, missing {row['missing']}, {row['review']}"
            )
    return 0


__all__ = ["po_path", "run", "status", "extract", "fill", "missing"]
