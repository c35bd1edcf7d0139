"""A Telegram message makes the sender's person key (a keyed hash) once: the flood
gate makes it, and remembering the message for the wipe, the engine's turn
and remembering each reply sent all take that one (bot/channels/telegram/)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bot.channels.telegram import client as telegram
from bot.engine import Engine
from bot.storage.crypto import Vault
from tests.fake_bot_api import FakeBotApi
from tests.telegram_driver import TelegramChat, telegram_engine, webhook_client

CHAT = 515151


@pytest.fixture
def tg_engine(
    engine: Engine, tmp_path: Path, fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    monkeypatch.setattr(telegram, "PER_CHAT_RATE", 1000.0)
    return telegram_engine(engine, tmp_path, fake)


@pytest.fixture
def client(tg_engine: Engine) -> Iterator[TestClient]:
    with webhook_client(tg_engine) as test_client:
        yield test_client


@pytest.fixture
def made(tg_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every person key made for this chat, as (channel, address)."""
    calls: list[tuple[str, str]] = []
    real = Vault.person_key

    def counting(vault: Vault, channel: str, address: str) -> str:
        if address == str(CHAT):
            calls.append((channel, address))
        return real(vault, channel, address)

    monkeypatch.setattr(Vault, "person_key", counting)
    return calls


def test_a_message_and_a_button_press_each_make_the_person_key_once(
    tg_engine: Engine, client: TestClient, fake: FakeBotApi, made: list[tuple[str, str]]
) -> None:
    chat = TelegramChat(tg_engine, client, fake, CHAT)
    mark = fake.mark()
    assert len(chat.send("hello")) == 2
    assert len(fake.since(mark, "sendMessage")) == 2  # each reply remembered for the wipe
    assert made == [("telegram", str(CHAT))]

    made.clear()
    chat.pick("yes")  # a button press: nothing to remember, the gate's key is the turn's
    assert chat.key == "who.ask"
    assert made == [("telegram", str(CHAT))]
