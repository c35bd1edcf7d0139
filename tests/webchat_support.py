"""Helpers for the web chat's tests: an app around one engine with its web
chat configured as content would configure it, and a small client that talks
to /chat/api like the page."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.channels.webchat.config import WebchatConfig, parse_config
from bot.content.model import Content
from bot.engine import Engine
from bot.settings import PROJECT_ROOT
from tests.conftest import clean, make_settings

SHIPPED = PROJECT_ROOT / "content"


def shipped_config(**config: Any) -> WebchatConfig:
    """The shipped data/webchat.yaml with `config` over it."""
    shipped = yaml.safe_load((SHIPPED / "data" / "webchat.yaml").read_text(encoding="utf-8"))
    return parse_config({**shipped, **config})


def webchat_engine(url: str, tmp_path: Path, content: Content, **settings: Any) -> Engine:
    clean(url)
    return Engine(settings=make_settings(tmp_path, url, **settings), content=content)


def new_id() -> str:
    return secrets.token_hex(8)


class PageClient:
    """What the page's script does, over HTTP."""

    def __init__(self, client: TestClient, lang: str | None = None) -> None:
        self.client = client
        self.token: str | None = None
        self.lang = lang

    def post(self, message_id: str | None = None, **fields: Any) -> Any:
        body: dict[str, Any] = {"id": message_id or new_id(), **fields}
        if self.token:
            body["token"] = self.token
        if self.lang:
            body["lang"] = self.lang
        response = self.client.post("/chat/api/messages", json=body)
        data = response.json()
        if data.get("token"):
            self.token = data["token"]
        return response

    def say(self, text: str) -> list[dict[str, Any]]:
        return self.post(text=text).json()["replies"]

    def pick(self, choice: str) -> list[dict[str, Any]]:
        return self.post(choice=choice).json()["replies"]

    def start(self) -> list[dict[str, Any]]:
        return self.post(command="start").json()["replies"]

    @property
    def session_id(self) -> str:
        assert self.token
        return self.token.split(".", 1)[0]


def chat_app(engine: Engine, **config: Any) -> FastAPI:
    """The real app; its web chat configured as if content said `config`."""
    from bot.web.app import create_app

    app = create_app(engine)
    app.state.webchat = shipped_config(**config)
    return app


@contextmanager
def app_client(engine: Engine, **config: Any) -> Iterator[TestClient]:
    with TestClient(chat_app(engine, **config)) as client:
        yield client
