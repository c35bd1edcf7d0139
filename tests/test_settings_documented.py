"""Every setting in bot/settings.py is documented in the README's table and in
.env.example, by the environment variable name it is read from.

An operator deploying the service reads those two places only; a setting
missing from them is one nobody will know to set (or to keep unset).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def env_names() -> list[str]:
    """The variable each field is read from: its alias if any, else its name."""
    names = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias or field.alias
        names.append(str(alias) if isinstance(alias, str) else name)
    return sorted(n.upper() for n in names)


def readme_table_rows() -> set[str]:
    """First-column names of the README's Configuration table."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", section, flags=re.M))


def env_example_names() -> set[str]:
    """Names set (or shown commented out) in .env.example."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.M))


def test_settings_are_read_by_their_documented_names() -> None:
    assert "FRONTDOOR_SECRET" in env_names()
    assert len(env_names()) >= 40, "Settings has fewer fields than expected: is this reading it?"


@pytest.mark.parametrize("name", env_names())
def test_setting_is_in_the_readme_table(name: str) -> None:
    assert name in readme_table_rows(), f"add a `{name}` row to README.md's Configuration table"


@pytest.mark.parametrize("name", env_names())
def test_setting_is_in_env_example(name: str) -> None:
    assert name in env_example_names(), f"add {name}= (with a comment) to .env.example"


def test_nothing_documented_that_is_not_a_setting() -> None:
    """A row or line left behind after a setting went would mislead an operator."""
    known = set(env_names())
    assert readme_table_rows() - known == set()
    assert env_example_names() - known == set()
