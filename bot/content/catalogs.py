"""Load gettext catalogs (locales/<locale>/LC_MESSAGES/messages.po) with Babel.

The .po files are read directly, so there is no compile step to forget.
Fuzzy and empty entries are left out: they fall back to English rather than
risk a wrong sentence reaching someone in danger.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.pofile import read_po

Catalog = dict[tuple[str | None, str], str]
DOMAIN = "messages"


def po_path(locales_dir: Path, locale: str) -> Path:
    return locales_dir / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(path: Path, locale: str) -> BabelCatalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def load_catalogs(locales_dir: Path) -> dict[str, Catalog]:
    catalogs: dict[str, Catalog] = {}
    if not locales_dir.is_dir():
        return catalogs
    for po in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        locale = po.parent.parent.name
        catalog: Catalog = {}
        for message in read_catalog(po, locale):
            if not message.id or message.fuzzy or not message.string:
                continue
            if not isinstance(message.id, str) or not isinstance(message.string, str):
                continue  # plural forms: not used by the bot's content
            catalog[(message.context, message.id)] = message.string
        catalogs[locale] = catalog
    return catalogs
