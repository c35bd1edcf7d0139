"""`frontdoor i18n fill` writes translations into the catalogs; `missing` lists gaps."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.content.catalogs import po_path, read_catalog
from bot.content.i18n import fill, missing
from bot.settings import PROJECT_ROOT


def _copy_locales(tmp_path: Path) -> Path:
    target = tmp_path / "locales"
    shutil.copytree(PROJECT_ROOT / "locales", target, ignore=shutil.ignore_patterns(".lock"))
    return target


def _message(locales: Path, locale: str, context: str):  # noqa: ANN202
    catalog = read_catalog(po_path(locales, locale), locale)
    return next(m for m in catalog if m.context == context)


def test_fill_writes_a_translation_and_clears_fuzzy(tmp_path: Path) -> None:
    locales = _copy_locales(tmp_path)
    context = "words.outage:sms"
    problems = fill(locales, {context: {"pl": "Nowy tekst."}})
    assert problems == []
    written = _message(locales, "pl", context)
    assert written.string == "Nowy tekst."
    assert not written.fuzzy
    # other locales are untouched
    assert _message(locales, "ro", context).string != "Nowy tekst."


def test_missing_lists_an_emptied_entry_and_fill_reports_unknown_contexts(
    tmp_path: Path,
) -> None:
    locales = _copy_locales(tmp_path)
    context = "words.outage:sms"
    path = po_path(locales, "lt")
    text = path.read_text(encoding="utf-8")
    original = _message(locales, "lt", context).string
    path.write_text(text.replace(f'msgstr "{original}"', 'msgstr ""', 1), encoding="utf-8")
    gaps = missing(locales)
    assert context in gaps and "lt" in gaps[context] and gaps[context]["en"]
    assert fill(locales, {"nowhere.at_all:sms": {"pl": "x"}}) != []
