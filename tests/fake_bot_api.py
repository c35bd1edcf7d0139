"""A small Bot API server on loopback, so the real python-telegram-bot talks HTTP
to something that answers like Telegram and remembers every call.

It keeps, per chat, every message id it saw (incoming ones the tests make with
`incoming`, outgoing ones it gave to sendMessage) and which of them are still
on the phone, so a test can prove that EXIT deleted all of them.

It refuses what the real Bot API refuses, with the same error shape, so a
test cannot pass on a call Telegram would reject: an unknown method (404 "Not
Found"), a missing chat_id, empty text or text over 4096 characters, HTML that
Telegram cannot parse for parse_mode=HTML, and deleteMessages with no ids or
more than 100 (tests/test_fake_bot_api.py).
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_ID = 7000000001
TOKEN = f"{BOT_ID}:TEST-token-not-real"
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Front Door",
    "username": "FrontDoorTestBot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
JSON_FIELDS = {
    "reply_markup",
    "message_ids",
    "allowed_updates",
    "commands",
    "scope",
    "entities",
    "link_preview_options",
}


# The Bot API's methods (https://core.telegram.org/bots/api); any other name is
# answered 404 "Not Found", as Telegram does. Names are case-insensitive there.
KNOWN_METHODS = {
    name.lower()
    for name in (
        "getUpdates",
        "setWebhook",
        "deleteWebhook",
        "getWebhookInfo",
        "getMe",
        "logOut",
        "close",
        "sendMessage",
        "forwardMessage",
        "forwardMessages",
        "copyMessage",
        "copyMessages",
        "sendPhoto",
        "sendAudio",
        "sendDocument",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendMediaGroup",
        "sendLocation",
        "sendVenue",
        "sendContact",
        "sendPoll",
        "sendDice",
        "sendChatAction",
        "setMessageReaction",
        "getUserProfilePhotos",
        "getFile",
        "leaveChat",
        "getChat",
        "getChatAdministrators",
        "getChatMemberCount",
        "getChatMember",
        "answerCallbackQuery",
        "setMyCommands",
        "deleteMyCommands",
        "getMyCommands",
        "setMyName",
        "getMyName",
        "setMyDescription",
        "getMyDescription",
        "setMyShortDescription",
        "getMyShortDescription",
        "setChatMenuButton",
        "getChatMenuButton",
        "editMessageText",
        "editMessageCaption",
        "editMessageMedia",
        "editMessageReplyMarkup",
        "stopPoll",
        "deleteMessage",
        "deleteMessages",
    )
}
# Methods whose chat_id Telegram requires (editMessage* take inline_message_id instead).
NEEDS_CHAT = {
    name.lower()
    for name in (
        "sendMessage",
        "sendChatAction",
        "forwardMessage",
        "copyMessage",
        "leaveChat",
        "getChat",
        "deleteMessage",
        "deleteMessages",
        "editMessageText",
        "editMessageReplyMarkup",
    )
}
MAX_TEXT = 4096
MAX_DELETE = 100
# Telegram's HTML: these tags only, and &lt; &gt; &amp; &quot; or numeric entities.
HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*)?)>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9A-Fa-f]+);")


def html_error(text: str) -> str | None:
    """Why Telegram would refuse `text` as HTML, in its words, or None if it parses."""
    stack: list[str] = []
    at = 0
    while at < len(text):
        char = text[at]
        if char == "<":
            tag = _TAG.match(text, at)
            offset = len(text[:at].encode("utf-8"))
            if tag is None:
                return f"Unsupported start tag at byte offset {offset}"
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if closing:
                if not stack:
                    return f"Unexpected end tag at byte offset {offset}"
                if stack[-1] != name:
                    return (
                        f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
                        f'found "</{name}>"'
                    )
                stack.pop()
            elif name not in HTML_TAGS:
                return f'Unsupported start tag "{name}" at byte offset {offset}'
            else:
                stack.append(name)
            at = tag.end()
        elif char == "&":
            if not _ENTITY.match(text, at):
                offset = len(text[:at].encode("utf-8"))
                return f"Character '&' is reserved and must be escaped at byte offset {offset}"
            at += 1
        elif char == ">":
            return f"Character '>' is reserved and must be escaped at byte offset {at}"
        else:
            at += 1
    if stack:
        return f'Can\'t find end tag corresponding to start tag "{stack[-1]}"'
    return None


def visible_length(text: str, parse_mode: str | None) -> int:
    """Characters after parsing entities, which is what Telegram's limit counts."""
    if (parse_mode or "").upper() == "HTML":
        text = html.unescape(_TAG.sub("", text))
    return len(text)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None


@dataclass
class FakeBotApi:
    """The server's state: calls made, messages per chat, updates to hand out."""

    calls: list[Call] = field(default_factory=list)
    seen: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    alive: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    updates: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, list[tuple[int, dict[str, Any]] | None]] = field(
        default_factory=lambda: defaultdict(list)
    )
    port: int = 0
    hanging: dict[str, int] = field(default_factory=dict)
    limited: dict[int, float] = field(default_factory=dict)  # chat -> time.monotonic() until
    released: bool = False
    _next_id: dict[int, itertools.count] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ----- what tests use --------------------------------------------------
    @property
    def base_url(self) -> str:
        """The server root, as TELEGRAM_API_BASE_URL takes it."""
        return f"http://127.0.0.1:{self.port}"

    def message_id(self, chat_id: int) -> int:
        """The next message id of a private chat (shared by both sides, as in Telegram)."""
        with self._lock:
            counter = self._next_id.setdefault(chat_id, itertools.count(1))
            return next(counter)

    def incoming(self, chat_id: int) -> int:
        """A message the person sends: a new id, now on their phone."""
        message_id = self.message_id(chat_id)
        with self._lock:
            self.seen[chat_id].add(message_id)
            self.alive[chat_id].add(message_id)
        return message_id

    def fail_next(self, method: str, status: int, description: str, **parameters: Any) -> None:
        """Answer the next call of `method` with an error (e.g. 429 with retry_after)."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        self.failures[method].append((status, body))

    def allow_next(self, method: str) -> None:
        """Let the next call of `method` through before the failures queued after it."""
        self.failures[method].append(None)

    def rate_limit(self, chat_id: int, seconds: float) -> None:
        """Answer every sendMessage to this chat with 429 and the seconds still to
        wait (retry_after), as Telegram does, until `seconds` have passed."""
        self.limited[chat_id] = time.monotonic() + seconds

    def limit_left(self, params: dict[str, Any]) -> int:
        """Whole seconds this call must still wait (0: not limited)."""
        try:
            until = self.limited.get(int(params.get("chat_id", 0)), 0.0)
        except (TypeError, ValueError):
            return 0
        left = until - time.monotonic()
        return max(1, int(left + 0.999)) if left > 0 else 0

    def hang_next(self, method: str) -> None:
        """Never answer the next call of `method` (a send in flight when a process dies)."""
        self.hanging[method] = self.hanging.get(method, 0) + 1

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def mark(self) -> int:
        """Where the call log stands now, to read only what came after."""
        return len(self.calls)

    def since(self, mark: int, method: str | None = None) -> list[Call]:
        return [c for c in self.calls[mark:] if method is None or c.method == method]

    def push_update(self, update: dict[str, Any]) -> None:
        with self._lock:
            self.updates.append(update)

    # ----- the Bot API methods ---------------------------------------------
    def refuse(self, method: str, params: dict[str, Any]) -> None:
        """Raise ApiError for a call the real Bot API would refuse."""
        name = method.lower()
        if name not in KNOWN_METHODS:
            raise ApiError(404, "Not Found")
        inline = name.startswith("edit") and params.get("inline_message_id")
        if name in NEEDS_CHAT and params.get("chat_id") in (None, "") and not inline:
            raise ApiError(400, "Bad Request: chat_id is empty")
        if name in {"sendmessage", "editmessagetext"}:
            text = params.get("text")
            if not text or not str(text).strip():
                raise ApiError(400, "Bad Request: message text is empty")
            parse_mode = params.get("parse_mode")
            if (parse_mode or "").upper() == "HTML":
                problem = html_error(str(text))
                if problem:
                    raise ApiError(400, f"Bad Request: can't parse entities: {problem}")
            if visible_length(str(text), parse_mode) > MAX_TEXT:
                raise ApiError(400, "Bad Request: message is too long")
        if name == "deletemessages":
            ids = params.get("message_ids")
            if not isinstance(ids, list) or not ids:
                raise ApiError(400, "Bad Request: message identifiers are not specified")
            if len(ids) > MAX_DELETE:
                raise ApiError(400, "Bad Request: too many message identifiers specified")

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        handler = getattr(self, f"_{method}", None)
        return True if handler is None else handler(params)

    def _getMe(self, _params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return BOT_USER

    def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        chat_id = int(params["chat_id"])
        message_id = self.message_id(chat_id)
        with self._lock:
            self.seen[chat_id].add(message_id)
            self.alive[chat_id].add(message_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    def _editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return {
            "message_id": int(params["message_id"]),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private"},
            "from": BOT_USER,
            "text": "",
        }

    def _deleteMessages(self, params: dict[str, Any]) -> bool:  # noqa: N802
        chat_id = int(params["chat_id"])
        ids = params["message_ids"]
        with self._lock:
            self.alive[chat_id].difference_update(int(i) for i in ids)
        return True

    def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: N802
        offset = int(params.get("offset") or 0)
        with self._lock:
            return [u for u in self.updates if u["update_id"] >= offset]


class ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


async def _params(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        raw = await request.body()
        return json.loads(raw) if raw else {}
    form = await request.form()
    params: dict[str, Any] = {}
    for key, value in form.items():
        text = value if isinstance(value, str) else ""
        params[key] = json.loads(text) if key in JSON_FIELDS else text
    return params


def make_app(state: FakeBotApi) -> Starlette:
    async def endpoint(request: Request) -> JSONResponse:
        if request.path_params["token"] != TOKEN:
            body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
            return JSONResponse(body, status_code=401)
        method = request.path_params["method"]
        params = await _params(request)
        call = Call(method, params)
        state.calls.append(call)
        wait = state.limit_left(params) if method == "sendMessage" else 0
        if wait:
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {wait}",
                "parameters": {"retry_after": wait},
            }
            return JSONResponse(body, status_code=429)
        if state.failures.get(method):
            failure = state.failures[method].pop(0)
            if failure is not None:
                status, body = failure
                return JSONResponse(body, status_code=status)
        elif state.hanging.get(method):
            state.hanging[method] -= 1
            while not state.released:
                await asyncio.sleep(0.05)
            return JSONResponse({"ok": False, "error_code": 500, "description": "gone"}, 500)
        try:
            state.refuse(method, params)
            result = state.answer(method, params)
        except ApiError as error:
            body = {"ok": False, "error_code": error.status, "description": error.description}
            return JSONResponse(body, status_code=error.status)
        call.result = result
        if method == "getUpdates" and not result:
            await asyncio.sleep(0.05)  # a short "long poll"
        return JSONResponse({"ok": True, "result": result})

    return Starlette(routes=[Route("/bot{token}/{method}", endpoint, methods=["GET", "POST"])])


class FakeBotApiServer:
    """Serve a FakeBotApi with uvicorn in a thread, on a free loopback port."""

    def __init__(self) -> None:
        self.state = FakeBotApi()
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.state.port = self._socket.getsockname()[1]
        config = uvicorn.Config(make_app(self.state), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> FakeBotApi:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake Bot API did not start")
            time.sleep(0.01)
        return self.state

    def __exit__(self, *_exc: object) -> None:
        self.state.released = True
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
