"""One person on one channel, behind one interface, so a journey is written once
and run on every channel (tests/test_channel_journeys.py).

`send(text)` types a message and `press(option)` answers the last question as
the channel answers one (a button on Telegram, the web chat and the simulator;
its number on SMS and WhatsApp). Both return the `Turn` the person saw: each
message's text as the channel rendered it, and the options offered. Every
driver goes through the real channel (signed Twilio webhooks, Telegram updates
to the real python-telegram-bot Application against the fake Bot API, the web
chat's and the simulator's JSON routes) and checks, turn by turn, that what it
showed is exactly the rendering of the replies the engine stored. `last`,
`key`, `option_ids()` and `pick()` are conftest `Chat`'s, so the helpers of
tests/test_journeys.py (open_callback, requests, details...) take a driver.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bot.channels.render import sms_text
from bot.channels.simulator.render import reply_json as simulator_json
from bot.channels.telegram import client as telegram
from bot.channels.webchat.render import for_page
from bot.channels.webchat.render import reply_json as page_json
from bot.engine import Engine
from bot.types import Reply
from bot.web.app import create_app
from tests.conftest import Chat
from tests.fake_bot_api import FakeBotApi, FakeBotApiServer
from tests.sms_support import PERSON, SmsChat, TwilioChat, handled_replies, sms_engine
from tests.telegram_driver import TelegramChat, telegram_engine, webhook_client
from tests.webchat_support import PageClient, chat_app
from tests.whatsapp_support import WhatsAppChat, whatsapp_engine


@dataclass(frozen=True)
class Turn:
    """What the person saw after one message: each message's rendered text,
    the replies' content keys, and the option ids of the last question."""

    texts: list[str]
    keys: list[str]
    options: list[str]


class Driver:
    """The common interface; a subclass says how one turn goes on its channel."""

    channel = ""
    buttons = False  # options are pressed (True) or typed as their number (False)

    def __init__(self, engine: Engine, callable_sender: bool) -> None:
        self.engine = engine
        self.callable_sender = callable_sender  # "may we call this number?" is asked
        self.last: list[Reply] = []
        self.turn = Turn([], [], [])

    def _text(self, text: str) -> tuple[list[Reply], list[str]]:
        raise NotImplementedError

    def _choice(self, option: str) -> tuple[list[Reply], list[str]]:
        raise NotImplementedError

    def another(self, n: int) -> Driver:
        """A different person on the same channel set-up (n: 0 to 9)."""
        raise NotImplementedError

    def _record(self, replies: list[Reply], texts: list[str]) -> Turn:
        self.last = replies
        self.turn = Turn(texts, [r.key for r in replies], self.option_ids())
        return self.turn

    def send(self, text: str) -> Turn:
        return self._record(*self._text(text))

    def press(self, option: str) -> Turn:
        ids = self.option_ids()
        assert option in ids, f"{option} not offered in {self.key}: {ids}"
        if self.buttons:
            return self._record(*self._choice(option))
        return self.send(str(ids.index(option) + 1))

    def answer(self, option: str, typed: str) -> Turn:
        """Press `option` where there are buttons, else type `typed` (a word for it)."""
        return self.press(option) if self.buttons else self.send(typed)

    # ----- conftest Chat's interface, for tests/test_journeys.py's helpers -----
    def pick(self, option: str) -> list[Reply]:
        self.press(option)
        return self.last

    def start(self, audience: str = "me") -> Turn:
        """Greeting, safety check and who-for, landing on the audience's menu."""
        self.send("hello")
        self.press("yes")
        return self.press(audience)

    @property
    def key(self) -> str:
        return self.last[-1].key

    def option_ids(self) -> list[str]:
        return [o.id for o in self.last[-1].options] if self.last else []


class EngineDriver(Driver):
    """No channel at all: the engine's own replies (conftest `Chat`), as SMS words
    them; from a phone number, or (phone=False) from an address like Telegram's."""

    def __init__(self, engine: Engine, phone: bool = True, n: int = 0) -> None:
        super().__init__(engine, callable_sender=phone)
        self.channel = "sms" if phone else "telegram"
        address = f"+44770090010{n}" if phone else f"12345{n}"
        self.chat = Chat(engine, channel=self.channel, address=address, phone=phone)

    def _text(self, text: str) -> tuple[list[Reply], list[str]]:
        replies = self.chat.send(text)
        return replies, [sms_text(r) for r in replies]

    def another(self, n: int) -> Driver:
        return EngineDriver(self.engine, self.callable_sender, n)


class TwilioDriver(Driver):
    """SMS or WhatsApp: tests/sms_support's `TwilioChat` (signed webhook, TwiML)."""

    def __init__(self, chat: TwilioChat, callable_sender: bool) -> None:
        super().__init__(chat.engine, callable_sender)
        self.chat = chat
        self.channel = chat.channel

    def _text(self, text: str) -> tuple[list[Reply], list[str]]:
        replies = self.chat.send(text)
        return replies, [m.body for m in self.chat.messages]


class SmsDriver(TwilioDriver):
    def __init__(self, engine: Engine, address: str = PERSON) -> None:
        # Only an E.164 sender can be called back; a short code or a name cannot.
        super().__init__(SmsChat(engine, address=address), address.startswith("+"))

    def another(self, n: int) -> Driver:
        return SmsDriver(self.engine, address=f"+44770090010{n}")


class WhatsAppDriver(TwilioDriver):
    def __init__(self, engine: Engine, number: str = PERSON) -> None:
        super().__init__(WhatsAppChat(engine, number), callable_sender=True)

    def another(self, n: int) -> Driver:
        return WhatsAppDriver(self.engine, number=f"+44770090010{n}")


class TelegramDriver(Driver):
    """tests/telegram_driver's `TelegramChat`: updates to /telegram/webhook,
    replies read back from the fake Bot API."""

    channel = "telegram"
    buttons = True

    def __init__(self, chat: TelegramChat) -> None:
        super().__init__(chat.engine, callable_sender=False)
        self.chat = chat

    def _sent(self, act: Callable[[], list[Reply]]) -> tuple[list[Reply], list[str]]:
        mark = self.chat.fake.mark()
        replies = act()
        sent = self.chat.fake.since(mark, "sendMessage")
        return replies, [str(call.params["text"]) for call in sent]

    def _text(self, text: str) -> tuple[list[Reply], list[str]]:
        return self._sent(lambda: self.chat.send(text))

    def _choice(self, option: str) -> tuple[list[Reply], list[str]]:
        return self._sent(lambda: self.chat.send(choice=option))

    def another(self, n: int) -> Driver:
        chat = self.chat
        return TelegramDriver(TelegramChat(chat.engine, chat.client, chat.fake, 600100 + n))


class JsonDriver(Driver):
    """A page that posts JSON (the web chat, the simulator): each answer is
    checked against the replies the engine stored for that message."""

    buttons = True

    def __init__(self, engine: Engine, client: TestClient) -> None:
        super().__init__(engine, callable_sender=False)
        self.client = client

    def _post(self, message_id: str, **fields: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _provider_id(self, message_id: str) -> str:
        raise NotImplementedError

    def _json(self, reply: Reply) -> dict[str, Any]:
        raise NotImplementedError

    def _shown(self, reply: dict[str, Any]) -> str:
        raise NotImplementedError

    def _turn(self, **fields: Any) -> tuple[list[Reply], list[str]]:
        message_id = uuid.uuid4().hex[:16]
        answered = self._post(message_id, **fields)
        replies = handled_replies(self.engine, self.channel, self._provider_id(message_id))
        assert replies is not None, "the engine handled this message"
        assert answered == [self._json(r) for r in replies]
        return replies, [self._shown(r) for r in answered]

    def _text(self, text: str) -> tuple[list[Reply], list[str]]:
        return self._turn(text=text)

    def _choice(self, option: str) -> tuple[list[Reply], list[str]]:
        return self._turn(choice=option)


class WebchatDriver(JsonDriver):
    """The web chat's script: POST /chat/api/messages with its token."""

    channel = "webchat"

    def __init__(self, engine: Engine, client: TestClient) -> None:
        super().__init__(engine, client)
        self.page = PageClient(client)

    def _post(self, message_id: str, **fields: Any) -> list[dict[str, Any]]:
        response = self.page.post(message_id, **fields)
        assert response.status_code == 200
        return response.json()["replies"]

    def _provider_id(self, message_id: str) -> str:
        return f"{self.page.session_id}:{message_id}"

    def _json(self, reply: Reply) -> dict[str, Any]:
        return page_json(for_page(self.engine.content, reply))

    def _shown(self, reply: dict[str, Any]) -> str:
        return reply["html"]

    def another(self, n: int) -> Driver:
        return WebchatDriver(self.engine, self.client)


class SimulatorDriver(JsonDriver):
    """The simulator's page: POST /simulator/messages with its session."""

    channel = "simulator"

    def __init__(self, engine: Engine, client: TestClient) -> None:
        super().__init__(engine, client)
        self.session = "sim-" + uuid.uuid4().hex[:12]

    def _post(self, message_id: str, **fields: Any) -> list[dict[str, Any]]:
        body = {"session": self.session, "message_id": message_id, **fields}
        response = self.client.post("/simulator/messages", json=body)
        assert response.status_code == 200, response.text
        return response.json()["replies"]

    def _provider_id(self, message_id: str) -> str:
        return f"{self.session}:{message_id}"

    def _json(self, reply: Reply) -> dict[str, Any]:
        return simulator_json(reply)

    def _shown(self, reply: dict[str, Any]) -> str:
        return reply["sms"]

    def another(self, n: int) -> Driver:
        return SimulatorDriver(self.engine, self.client)


@contextmanager
def open_driver(kind: str, engine: Engine, tmp_path: Path) -> Iterator[Driver]:
    """A driver by name: "engine", "engine:telegram", "sms", "sms:SENDER",
    "telegram", "whatsapp", "webchat" or "simulator", on `engine`'s database."""
    name, _, sender = kind.partition(":")
    with ExitStack() as stack:
        if name == "engine":  # "engine:telegram": a sender that is not a phone number
            yield EngineDriver(engine, phone=sender != "telegram")
        elif name == "sms":
            yield SmsDriver(sms_engine(engine), address=sender or PERSON)
        elif name == "whatsapp":
            yield WhatsAppDriver(whatsapp_engine(engine))
        elif name == "telegram":
            # A test types faster than any person: lift the pace per chat
            # (tests/test_telegram.py checks that pace on its own).
            patch = stack.enter_context(pytest.MonkeyPatch.context())
            patch.setattr(telegram, "PER_CHAT_RATE", 1000.0)
            fake: FakeBotApi = stack.enter_context(FakeBotApiServer())
            tg_engine = telegram_engine(engine, tmp_path, fake)
            client = stack.enter_context(webhook_client(tg_engine))
            yield TelegramDriver(TelegramChat(tg_engine, client, fake))
        elif name == "webchat":
            client = stack.enter_context(TestClient(chat_app(engine)))
            yield WebchatDriver(engine, client)
        elif name == "simulator":
            client = stack.enter_context(TestClient(create_app(engine)))
            yield SimulatorDriver(engine, client)
        else:
            raise ValueError(f"no driver called {kind}")
