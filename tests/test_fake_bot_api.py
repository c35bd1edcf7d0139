"""The fake Bot API refuses what the real one refuses, in Telegram's shape.

Telegram tests are only as strict as the server they talk to: a fake that
accepts anything lets a reply Telegram would reject (too long, broken HTML,
no chat) pass every test and fail in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fake_bot_api import TOKEN, FakeBotApi, FakeBotApiServer, html_error

CHAT = 4242


@pytest.fixture(scope="module")
def api() -> Iterator[FakeBotApi]:
    with FakeBotApiServer() as state:
        yield state


def call(api: FakeBotApi, method: str, **params: Any) -> httpx.Response:
    return httpx.post(f"{api.base_url}/bot{TOKEN}/{method}", json=params, timeout=10)


def refused(response: httpx.Response, status: int, description: str) -> None:
    assert response.status_code == status
    assert response.json() == {"ok": False, "error_code": status, "description": description}


def test_a_plain_message_is_sent(api: FakeBotApi) -> None:
    response = call(api, "sendMessage", chat_id=CHAT, text="<b>Hello</b> &amp; welcome")
    assert response.status_code == 200
    assert response.json()["ok"] is True


def test_method_names_are_case_insensitive_as_on_telegram(api: FakeBotApi) -> None:
    assert call(api, "getme").json()["ok"] is True


def test_an_unknown_method_is_not_found(api: FakeBotApi) -> None:
    refused(call(api, "sendMesage", chat_id=CHAT, text="hi"), 404, "Not Found")


def test_a_missing_chat_id_is_refused(api: FakeBotApi) -> None:
    refused(call(api, "sendMessage", text="hi"), 400, "Bad Request: chat_id is empty")
    refused(call(api, "deleteMessages", message_ids=[1]), 400, "Bad Request: chat_id is empty")
    refused(
        call(api, "editMessageReplyMarkup", message_id=1),
        400,
        "Bad Request: chat_id is empty",
    )


def test_empty_text_is_refused(api: FakeBotApi) -> None:
    response = call(api, "sendMessage", chat_id=CHAT, text="")
    refused(response, 400, "Bad Request: message text is empty")


def test_text_over_4096_characters_is_refused(api: FakeBotApi) -> None:
    assert call(api, "sendMessage", chat_id=CHAT, text="a" * 4096).status_code == 200
    refused(
        call(api, "sendMessage", chat_id=CHAT, text="a" * 4097),
        400,
        "Bad Request: message is too long",
    )


def test_the_limit_counts_text_after_html_is_parsed(api: FakeBotApi) -> None:
    """Tags and entities do not count: 4096 visible characters pass."""
    text = "<b>" + "&amp;" * 4096 + "</b>"
    assert call(api, "sendMessage", chat_id=CHAT, text=text, parse_mode="HTML").status_code == 200
    text = "<b>" + "&amp;" * 4097 + "</b>"
    refused(
        call(api, "sendMessage", chat_id=CHAT, text=text, parse_mode="HTML"),
        400,
        "Bad Request: message is too long",
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>a</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<div>a</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("a </b>", "Unexpected end tag at byte offset 2"),
        ("1 < 2", "Unsupported start tag at byte offset 2"),
        ("you & me", "Character '&' is reserved and must be escaped at byte offset 4"),
    ],
)
def test_broken_html_is_refused(api: FakeBotApi, text: str, why: str) -> None:
    response = call(api, "sendMessage", chat_id=CHAT, text=text, parse_mode="HTML")
    refused(response, 400, f"Bad Request: can't parse entities: {why}")


def test_the_same_text_without_parse_mode_is_plain(api: FakeBotApi) -> None:
    assert call(api, "sendMessage", chat_id=CHAT, text="1 < 2 & <b>").status_code == 200


@pytest.mark.parametrize(
    "text",
    [
        "<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <code>x</code> <pre>y</pre>",
        '<a href="https://example.org">link</a> <span class="tg-spoiler">s</span>',
        "<blockquote>q</blockquote> &lt;b&gt; &quot; &#39; &#x27;",
        "<b>nested <i>tags</i></b>\nline two",
    ],
)
def test_telegram_html_is_accepted(text: str) -> None:
    assert html_error(text) is None


def test_delete_messages_takes_1_to_100_ids(api: FakeBotApi) -> None:
    ids = [api.incoming(CHAT) for _ in range(101)]
    refused(
        call(api, "deleteMessages", chat_id=CHAT, message_ids=ids),
        400,
        "Bad Request: too many message identifiers specified",
    )
    assert set(ids) <= api.alive[CHAT], "a refused call deletes nothing"
    refused(
        call(api, "deleteMessages", chat_id=CHAT, message_ids=[]),
        400,
        "Bad Request: message identifiers are not specified",
    )
    assert call(api, "deleteMessages", chat_id=CHAT, message_ids=ids[:100]).status_code == 200
    assert api.alive[CHAT] & set(ids) == {ids[100]}


def test_refused_calls_are_still_recorded(api: FakeBotApi) -> None:
    """Tests read the call log: a refused call is there, with no result."""
    mark = api.mark()
    call(api, "sendMessage", chat_id=CHAT, text="a" * 5000)
    (made,) = api.since(mark)
    assert made.method == "sendMessage" and made.result is None
