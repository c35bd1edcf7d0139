"""The project's documents stand alone: every relative link points inside the
repository, to a file that exists."""

from __future__ import annotations

import re

from bot.settings import PROJECT_ROOT

LINK = re.compile(r"\]\(([^)#]+)\)|`(\.\./[^`]+)`")


def test_every_relative_link_stays_inside_the_repository_and_exists() -> None:
    documents = [PROJECT_ROOT / "README.md", *(PROJECT_ROOT / "docs").rglob("*.md")]
    documents += list((PROJECT_ROOT / "content").rglob("README.md"))
    for document in documents:
        for found in LINK.finditer(document.read_text(encoding="utf-8")):
            target = found.group(1) or found.group(2)
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            resolved = (document.parent / target).resolve()
            assert resolved.is_relative_to(PROJECT_ROOT), f"{document.name} links outside: {target}"
            assert resolved.exists(), f"{document.name} links to a missing file: {target}"
