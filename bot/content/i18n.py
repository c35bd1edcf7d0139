"""`frontdoor i18n extract|update|compile|status|init`: Babel's workflow in one place.

extract: content + code -> locales/messages.pot
update:  messages.pot -> every locales/<locale>/LC_MESSAGES/messages.po
compile: .po -> .mo (for standard tools; the bot reads .po directly)
status:  per-locale completeness, fuzzy and missing counts, and review state
"""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

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


def status(settings: Settings) -> list[dict[str, object]]:
    """Completeness of every catalog against the current template."""
    pot = read_catalog(settings.locales_dir / POT, "en")
    wanted = {(m.context, m.id) for m in pot if m.id}
    rows = []
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


def run(action: str, settings: Settings, locale: str | None) -> int:
    locales_dir = settings.locales_dir
    if action == "extract":
        print(f"wrote {extract(locales_dir)}")
    elif action == "init":
        if not locale:
            print("init needs --locale, e.g. --locale pl")
            return 2
        pybabel("init", "-i", str(locales_dir / POT), "-d", str(locales_dir), "-l", locale)
    elif action == "update":
        pybabel(
            "update",
            "-i",
            str(locales_dir / POT),
            "-d",
            str(locales_dir),
            "--previous",
            "--no-wrap",
        )
    elif action == "compile":
        pybabel("compile", "-d", str(locales_dir), "--statistics")
    elif action == "status":
        for row in status(settings):
            percent = 100 * int(row["translated"]) // max(1, int(row["total"]))
            print(
                f"{row['locale']}: {percent}% ({row['translated']}/{row['total']}), "
                f"fuzzy {row['fuzzy']}, missing {row['missing']}, {row['review']}"
            )
    return 0


__all__ = ["po_path", "run", "status", "extract"]
