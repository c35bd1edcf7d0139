"""A changed service secret is refused at start-up, clearly, before anything
is read or wiped; the development secret file is readable by its owner only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.cli import main
from bot.content.model import Content
from bot.engine import Engine
from bot.storage.keys import SecretMismatch
from bot.worker import build_worker
from tests.conftest import Chat, clean, make_settings


def test_a_changed_secret_stops_the_app_and_the_worker(
    db_url: str, tmp_path: Path, content: Content
) -> None:
    clean(db_url)
    first = Engine(settings=make_settings(tmp_path, db_url), content=content)
    Chat(first).send("hi")  # something sealed under the first secret
    changed = make_settings(tmp_path, db_url).model_copy(
        update={"frontdoor_secret": "another-secret-entirely"}
    )
    with pytest.raises(SecretMismatch):
        Engine(settings=changed, content=content)
    with pytest.raises(SecretMismatch):
        build_worker(changed)  # its purge would otherwise wipe "unreadable" rows
    Engine(settings=make_settings(tmp_path, db_url), content=content)  # the right one starts


def test_the_command_line_says_why_it_refuses(
    db_url: str, tmp_path: Path, content: Content, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:  # noqa: ANN001
    clean(db_url)
    Engine(settings=make_settings(tmp_path, db_url), content=content)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("FRONTDOOR_SECRET", "another-secret-entirely")
    monkeypatch.setenv("VAR_DIR", str(tmp_path))
    from bot.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["worker", "--once"]) == 2
    finally:
        get_settings.cache_clear()
    assert "not the secret this database was sealed with" in capsys.readouterr().err


def test_the_development_secret_file_is_private(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite://").model_copy(update={"frontdoor_secret": ""})
    settings.secret()
    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
    assert mode == 0o600
