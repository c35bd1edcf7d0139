"""A changed service secret is refused at start-up, clearly, before anything
is read or wiped (a configured key set must hold every key id still in use);
old secrets open data until rotation; the development secret file is
readable by its owner only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from bot.cli import main
from bot.content.model import Content
from bot.engine import Engine
from bot.storage.crypto import Vault, key_id
from bot.storage.db import Database
from bot.storage.keys import SecretMismatch, verify_secret
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
    db_url: str,
    tmp_path: Path,
    content: Content,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
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


def test_an_old_secret_opens_until_rotation_and_a_missing_one_is_named(
    db_url: str, tmp_path: Path, content: Content
) -> None:
    clean(db_url)
    first = Engine(settings=make_settings(tmp_path, db_url), content=content)
    Chat(first).send("hi")
    person = first.vault.person_key("sms", "+447700900123")
    old = make_settings(tmp_path, db_url).frontdoor_secret
    both = make_settings(tmp_path, db_url).model_copy(
        update={"frontdoor_secret": "a-new-secret", "frontdoor_old_secrets": f"spare,{old}"}
    )
    during = Engine(settings=both, content=content)  # the new secret seals, the old one opens
    assert during.vault.current == key_id(b"a-new-secret")
    assert during.vault.person_key("sms", "+447700900123") == person
    with pytest.raises(SecretMismatch, match=key_id(old.encode())):
        Engine(settings=both.model_copy(update={"frontdoor_old_secrets": ""}), content=content)


def test_with_the_database_away_no_person_key_is_guessed(tmp_path: Path) -> None:
    away = Database("postgresql+psycopg://nobody@127.0.0.1:9/none", timeout=1)
    vault = Vault(b"some-secret")
    assert verify_secret(away, vault) is False  # start-up goes on, answering from memory
    with pytest.raises(DBAPIError):  # the lookup key is loaded (and checked) on first use
        vault.person_key("sms", "+447700900123")
    away.dispose()
