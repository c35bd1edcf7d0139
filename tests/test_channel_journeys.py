"""Journeys written once and run on every channel (tests/channel_drivers.py), on
SQLite and PostgreSQL: the engine on its own, SMS, Telegram, WhatsApp, the web
chat and the simulator, each through its real webhook or route.

The engine's other journeys run per channel from tests/test_sms_journeys.py,
test_telegram_journeys.py and test_whatsapp_journeys.py (imported there); what
only one channel does (Telegram's buttons and wipe, SMS segments, WhatsApp's
24 hours) stays in that channel's own file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from bot.engine import Engine
from tests.channel_drivers import Driver, open_driver
from tests.test_journeys import _path_to_flow, details, open_callback, requests

EVERY_CHANNEL = ["engine", "sms", "telegram", "whatsapp", "webchat", "simulator"]
# Where the sender cannot be called back: SMS from a short code, a name or a
# number not in E.164 form; Telegram, the web chat and the simulator always
# (and the engine on its own, given an address that is not a phone number).
NO_NUMBER = [
    "engine:telegram",
    "sms:60123",
    "sms:FrontDoor",
    "sms:07700900123",
    "telegram",
    "webchat",
    "simulator",
]
TYPED_NUMBER = ["engine:telegram", "sms:FrontDoor", "telegram", "webchat", "simulator"]
SAFE_NUMBER = "07911 120123"  # typed where the sender is not a number


@pytest.fixture
def person(engine: Engine, tmp_path: Path) -> Iterator[Callable[[str], Driver]]:
    """Opens a driver by name; all closed when the test ends."""
    with ExitStack() as stack:
        yield lambda kind: stack.enter_context(open_driver(kind, engine, tmp_path))


@pytest.mark.parametrize("kind", EVERY_CHANNEL)
def test_each_audience_gets_its_own_menu(person: Callable[[str], Driver], kind: str) -> None:
    first = person(kind)
    for n, audience in enumerate(("me", "someone_else", "own_behaviour", "professional")):
        chat = first.another(n)
        chat.start(audience)
        assert chat.key == f"menus.{audience}"
        assert 1 <= len(chat.option_ids()) <= 5


@pytest.mark.parametrize("kind", NO_NUMBER)
def test_a_sender_that_is_not_a_callable_number_is_asked_for_one(
    person: Callable[[str], Driver], kind: str
) -> None:
    chat = person(kind)
    chat.start("someone_else")
    open_callback(chat)
    assert chat.key == "callback.other_number"
    chat.send("12345")
    assert chat.last[0].key == "callback.number_invalid"
    chat.send("07911 123 456")
    assert chat.key == "callback.when"
    chat.press("asap")
    assert chat.key == "triage.someone_else_hurt"
    chat.send("skip")  # one triage question, typed
    chat.press("skip_all")  # and the rest
    chat.press("send")
    chat.press("looks_right")
    [request] = requests(chat)
    assert request.route == "someone_else" and request.asap is True and request.complete
    assert details(chat, request) == {"phone": "+447911123456"}
    assert request.channel == chat.channel


@pytest.mark.parametrize("kind", TYPED_NUMBER)
def test_a_number_outside_the_known_ranges_is_read_back(
    person: Callable[[str], Driver], kind: str
) -> None:
    chat = person(kind)
    chat.start("me")
    open_callback(chat)
    shown = chat.send("07911 654321")  # possible, but not in the metadata's ranges
    assert chat.key == "callback.number_confirm"
    assert shown.texts[-1].startswith("Is 07911 654321 right?")
    chat.press("no")
    assert chat.key == "callback.other_number"
    chat.send("07700 900123")  # the example in our own question
    assert chat.key == "callback.number_confirm"
    chat.answer("yes", typed="yes")  # the button where there is one
    assert chat.key == "callback.when"
    chat.press("asap")
    [request] = requests(chat)
    assert details(chat, request)["phone"] == "+447700900123"


@pytest.mark.parametrize("kind", EVERY_CHANNEL)
def test_a_queued_request_within_10_messages_of_hello(
    person: Callable[[str], Driver], kind: str
) -> None:
    """Skipping every optional question: buttons where the channel has them,
    else the words a person would text."""
    chat = person(kind)
    sent = 0

    def answer(option: str, typed: str) -> None:
        nonlocal sent
        sent += 1
        chat.answer(option, typed)

    chat.send("hello")
    sent += 1
    answer("yes", "1")
    answer("me", "me")
    for option in _path_to_flow(chat, "flow:callback"):
        sent += 1
        chat.press(option)
    answer("yes", "yes")  # consent
    if chat.callable_sender:
        answer("yes", "yes")  # this number
    else:
        chat.send(SAFE_NUMBER)
        sent += 1
    answer("asap", "asap")
    assert requests(chat)[0].complete is False  # saved and on the dashboard's queue from here
    answer("skip_all", "skip these")
    answer("send", "send")
    answer("looks_right", "right")
    assert chat.key == "callback.confirmed" and sent <= 10
    [request] = requests(chat)
    assert request.complete and request.status == "open"
    assert request.channel == chat.channel
    assert request.reference in chat.turn.texts[-1]


@pytest.mark.parametrize("kind", TYPED_NUMBER)
def test_without_a_safe_number_skip_points_to_helplines(
    person: Callable[[str], Driver], kind: str
) -> None:
    """Where the number question is typed, SKIP (which the request's first
    message explains) leads to the helplines, MENU leaves, and nothing is kept."""
    chat = person(kind)
    chat.start("me")
    open_callback(chat)
    assert chat.key == "callback.other_number"
    chat.send("skip")
    assert chat.key == "callback.no_number"
    chat.send("menu")
    assert chat.key == "menus.me"
    assert requests(chat) == []
