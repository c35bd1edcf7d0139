"""Drive the Telegram channel as Telegram would: signed updates posted to
/telegram/webhook, replies read back from the fake Bot API.

`TelegramChat` has the interface of conftest's `Chat`, so every journey runs
through the real webhook and the real python-telegram-bot Application. It
returns the engine's own replies (as stored for that update) and checks that
what the channel sent to Telegram is exactly their rendering.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from bot.channels.telegram.render import telegram_messages
from bot.engine import Engine
from bot.storage import binding
from bot.storage.models import HandledMessage
from bot.types import Reply
from bot.web.app import create_app
from tests.conftest import Chat, make_settings
from tests.fake_bot_api import BOT_ID, BOT_USER, TOKEN, FakeBotApi

SECRET = "webhook-secret-for-tests-only"
_update_ids = itertools.count(1000)
_callback_ids = itertools.count(1)


def next_update_id() -> int:
    return next(_update_ids)


def telegram_engine(engine: Engine, tmp_path: Path, fake: FakeBotApi, **overrides: Any) -> Engine:
    """The same database and content, with Telegram credentials pointing at the fake."""
    channel = {
        "telegram_bot_token": TOKEN,
        "telegram_webhook_secret": SECRET,
        "telegram_api_base_url": fake.base_url,
    }
    settings = make_settings(tmp_path, engine.settings.database_url, **{**channel, **overrides})
    return Engine(settings=settings, content=engine.content, database=engine.db)


@contextmanager
def webhook_client(engine: Engine) -> Iterator[TestClient]:
    """The whole app with its lifespan, so the PTB Application is started and stopped."""
    with TestClient(create_app(engine)) as client:
        yield client


def user(chat_id: int, language_code: str | None = "en", is_bot: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {"id": chat_id, "is_bot": is_bot, "first_name": "Person"}
    if language_code:
        found["language_code"] = language_code
    return found


def private_chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": "Person"}


def text_message(
    fake: FakeBotApi,
    chat_id: int,
    text: str,
    date: datetime | None = None,
    chat: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A message the person sends, with a fresh id the fake remembers."""
    message: dict[str, Any] = {
        "message_id": fake.incoming(chat_id),
        "date": int((date or datetime.now(UTC)).timestamp()),
        "chat": chat or private_chat(chat_id),
        "from": user(chat_id),
        **extra,
    }
    if text:
        message["text"] = text
        if text.startswith("/"):
            word = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(word)}]
    return message


def callback_update(
    chat_id: int, message_id: int, data: str, update_id: int | None = None
) -> dict[str, Any]:
    return {
        "update_id": update_id or next(_update_ids),
        "callback_query": {
            "id": str(next(_callback_ids)),
            "from": user(chat_id),
            "chat_instance": f"ci-{chat_id}",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(datetime.now(UTC).timestamp()),
                "chat": private_chat(chat_id),
                "from": BOT_USER,
                "text": "a question",
            },
        },
    }


def post(client: TestClient, update: dict[str, Any], secret: str | None = SECRET) -> int:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    return client.post("/telegram/webhook", json=update, headers=headers).status_code


def stored_replies(engine: Engine, update_id: int) -> list[Reply]:
    """What the engine answered (and stored) for one update."""
    with engine.db.session() as session:
        sealed = session.execute(
            select(HandledMessage.replies_enc)
            .where(HandledMessage.channel == "telegram")
            .where(HandledMessage.provider_id == f"{BOT_ID}:{update_id}")
        ).scalar_one()
        session.commit()
    context = binding.handled_replies("telegram", f"{BOT_ID}:{update_id}")
    return [Reply.from_json(r) for r in engine.vault.open(sealed, context)]


def expected_sends(replies: list[Reply]) -> list[tuple[str, Any]]:
    expected = []
    for reply in replies:
        for text, markup in telegram_messages(reply):
            expected.append((text, markup.to_dict() if markup is not None else None))
    return expected


class TelegramChat(Chat):
    """conftest's `Chat`, but every message goes through /telegram/webhook."""

    def __init__(
        self, engine: Engine, client: TestClient, fake: FakeBotApi, chat_id: int = 555001
    ) -> None:
        super().__init__(engine, channel="telegram", address=str(chat_id), phone=False)
        self.client, self.fake, self.chat_id = client, fake, chat_id
        self.buttons_on: int | None = None  # the message that carries the latest buttons
        self._by_message_id: dict[str, dict[str, Any]] = {}

    def send(
        self,
        text: str = "",
        choice: str | None = None,
        message_id: str | None = None,
        command: str | None = None,
    ) -> list[Reply]:
        repeat = message_id is not None and message_id in self._by_message_id
        if repeat:
            update = self._by_message_id[message_id]  # type: ignore[index]
        elif choice is not None:
            assert self.buttons_on is not None, "no buttons to press"
            update = callback_update(self.chat_id, self.buttons_on, choice)
        else:
            if command is not None and not text.startswith("/"):
                text = f"/{command}"
            message = text_message(self.fake, self.chat_id, text, self.now)
            update = {"update_id": next(_update_ids), "message": message}
        if message_id is not None:
            self._by_message_id[message_id] = update
        mark = self.fake.mark()
        assert post(self.client, update) == 200
        self.last = stored_replies(self.engine, update["update_id"])
        self._check_sent(mark, update, repeat)
        return self.last

    def _check_sent(self, mark: int, update: dict[str, Any], repeat: bool) -> None:
        """What went to Telegram is exactly the rendering of the engine's replies."""
        sent = self.fake.since(mark, "sendMessage")
        if "callback_query" in update and not repeat:
            query = update["callback_query"]
            answered = self.fake.since(mark, "answerCallbackQuery")
            assert [c.params["callback_query_id"] for c in answered] == [query["id"]]
            [edit] = self.fake.since(mark, "editMessageReplyMarkup")
            assert int(edit.params["message_id"]) == query["message"]["message_id"]
            assert not edit.params.get("reply_markup")
        if any(r.action == "quick_exit" for r in self.last):
            assert sent == []
            assert self.fake.alive[self.chat_id] == set()  # wiped from the phone
            self.buttons_on = None
            return
        if repeat:
            assert sent == []
            return
        assert all(int(c.params["chat_id"]) == self.chat_id for c in sent)
        assert all(c.params["parse_mode"] == "HTML" for c in sent)
        got = [(c.params["text"], c.params.get("reply_markup")) for c in sent]
        assert got == expected_sends(self.last)
        with_buttons = [c.result["message_id"] for c in sent if c.params.get("reply_markup")]
        if with_buttons:
            self.buttons_on = with_buttons[-1]

    def pick(self, option_id: str) -> list[Reply]:
        """Answer the last question as on Telegram: press its button."""
        ids = self.option_ids()
        assert option_id in ids, f"{option_id} not offered in {self.key}: {ids}"
        return self.send(choice=option_id)
