"""Children and young people, end to end through the engine and signed SMS
webhooks, on SQLite and PostgreSQL.

Under 16 (said at "Who would you like help for?" or after the safety screen
recognises a child): Childline, 999, a trusted adult, the children's menu,
and never an adult callback question, whatever they pick or type. 16 and 17:
adult services may call, without the pregnancy question. Adults worried
about a child reach the NSPCC and children's social care.
"""

from __future__ import annotations

import pytest

from bot.engine import Engine
from bot.types import Reply
from tests import test_journeys
from tests.conftest import Chat
from tests.sms_support import SmsChat, sms_engine

CHILDLINE = "0800 1111"
NSPCC = "0808 800 5000"
# Keys of callback questions: any of these shown to an under-16 is a failure.
CALLBACK_QUESTION = ("callback.", "triage.", "urgency.")


@pytest.fixture(params=["engine", "sms"])
def chat(request: pytest.FixtureRequest, engine: Engine) -> Chat:
    """The same person through the engine, or through POST /sms/inbound."""
    if request.param == "sms":
        return SmsChat(sms_engine(engine))
    return Chat(engine)


def _keys(replies: list[Reply]) -> list[str]:
    return [r.key for r in replies]


def _asks_for_a_call(replies: list[Reply]) -> bool:
    return any(r.key.startswith(CALLBACK_QUESTION) and r.options for r in replies)


def _as_young(chat: Chat, age: str) -> list[Reply]:
    chat.send("hello")
    chat.pick("yes")
    chat.pick("young")
    assert chat.key == "who.age"
    assert chat.option_ids() == ["under_16", "aged_16_17"]
    return chat.pick(age)


def _walk_everything(chat: Chat) -> list[Reply]:
    """From the person's main menu, pick every option of every page reachable
    (by number, as on SMS); returns every reply received."""
    received: list[Reply] = []
    home = chat.send("menu")[-1].key
    paths: dict[str, list[str]] = {home: []}
    queue = [home]
    while queue:
        page = queue.pop(0)
        for option in _open(chat, paths[page]):
            _open(chat, paths[page])
            received += chat.pick(option)
            if chat.key not in paths:
                paths[chat.key] = [*paths[page], option]
                queue.append(chat.key)
    return received


def _open(chat: Chat, path: list[str]) -> list[str]:
    """Go to the main menu, then follow `path`; returns the options offered."""
    chat.send("menu")
    for option in path:
        chat.pick(option)
    return chat.option_ids()


def test_under_16_from_who_gets_childline_and_never_a_callback(chat: Chat) -> None:
    replies = _as_young(chat, "under_16")
    assert _keys(replies) == ["young.under_16"]
    sms = replies[0].sms
    assert CHILDLINE in sms and "under 19" in sms and "999" in sms and "adult you trust" in sms
    assert "ask_call" not in chat.option_ids()
    assert _keys(chat.send("menu")) == ["menus.young"]
    assert _keys(chat.send("call me back please")) == ["words.not_understood"]
    assert chat.option_ids() == ["childline", "home", "relationship"]  # the same menu again


def test_under_16_can_open_every_young_page_without_meeting_a_callback(chat: Chat) -> None:
    _as_young(chat, "under_16")
    received = _walk_everything(chat)
    keys = set(_keys(received))
    assert {"young.home", "young.relationship", "menus.young", "young.under_16"} <= keys
    assert not _asks_for_a_call(received), sorted(keys)


def test_a_child_the_safety_screen_recognises_says_under_16(chat: Chat) -> None:
    replies = chat.send("im 14 and my dad hits my mum")
    assert _keys(replies) == ["signals.child"]
    assert CHILDLINE in replies[0].sms and "under 19" in replies[0].sms
    assert chat.option_ids() == ["under_16", "callback", "menu"]
    assert _keys(chat.pick("under_16")) == ["young.under_16"]
    assert _keys(chat.send("menu")) == ["menus.young"]


def test_under_16_in_crisis_gets_samaritans_and_no_offer_of_a_call(chat: Chat) -> None:
    _as_young(chat, "under_16")
    replies = chat.send("i want to kill myself")
    assert _keys(replies) == ["signals.crisis"] and "116 123" in replies[0].sms
    assert chat.option_ids() == ["menu"]  # adults are offered a call here too
    assert not _asks_for_a_call(chat.send("call me back"))
    assert _keys(chat.pick("menu")) == ["menus.young"]


def test_under_16_recognised_again_is_not_offered_a_call(chat: Chat) -> None:
    _as_young(chat, "under_16")
    chat.send("im 14 and my dad hits my mum")
    assert chat.key == "signals.child"
    assert chat.option_ids() == ["under_16", "menu"]


def test_an_adult_in_crisis_is_still_offered_a_call(chat: Chat) -> None:
    chat.start("me")
    chat.send("i want to kill myself")
    assert chat.option_ids() == ["callback", "text_worker", "menu"]


def test_16_or_17_may_ask_for_a_call_and_is_not_asked_about_pregnancy(chat: Chat) -> None:
    replies = _as_young(chat, "aged_16_17")
    assert _keys(replies) == ["young.aged_16_17"]
    assert CHILDLINE in replies[0].sms and "19" in replies[0].sms and "999" in replies[0].sms
    assert "ask_call" in chat.option_ids()
    assert _asks_for_a_call(chat.pick("ask_call"))
    test_journeys.callback_answers(chat)
    asked = [chat.key]
    while chat.key.startswith("triage."):
        chat.pick("no") if "no" in chat.option_ids() else chat.send("skip")
        asked.append(chat.key)
    assert asked[-1] == "callback.more"
    assert not [k for k in asked if "pregnan" in k]


def test_an_adult_is_still_asked_about_pregnancy(chat: Chat) -> None:
    """The other side of the 16-17 test: the same walk for an adult asks it."""
    chat.start("me")
    chat.pick("ask_call")
    test_journeys.callback_answers(chat)
    asked = [chat.key]
    while chat.key.startswith("triage."):
        chat.pick("no") if "no" in chat.option_ids() else chat.send("skip")
        asked.append(chat.key)
    assert [k for k in asked if "pregnan" in k]


def test_16_or_17_from_the_safety_screen_goes_straight_to_a_call(chat: Chat) -> None:
    chat.send("im 16 and my boyfriend checks my phone")
    assert chat.key == "signals.child"
    assert _asks_for_a_call(chat.pick("callback"))


def test_adult_worried_about_a_child_reaches_nspcc_and_social_care(chat: Chat) -> None:
    chat.start("someone_else")
    replies = chat.pick("child")
    assert _keys(replies) == ["helping.child"]
    assert NSPCC in replies[0].sms and "999" in replies[0].sms
    replies = chat.pick("social_care")
    sms = replies[0].sms
    for council in ("Southend City Council", "Essex County Council", "Thurrock Council"):
        assert council in sms
    assert sms.count("to be confirmed") == 3  # honest placeholders, no invented numbers
    chat.pick("nspcc")
    assert chat.key == "helping.child"
    replies = chat.pick("young")
    assert _keys(replies) == ["menus.young"]


def test_professional_reaches_childrens_social_care_in_two_replies(chat: Chat) -> None:
    chat.start("professional")
    chat.pick("children")
    assert _keys(chat.pick("social_care")) == ["helping.social_care"]


def test_under_16_who_goes_back_and_asks_as_an_adult_still_gets_no_callback(
    chat: Chat,
) -> None:
    """The age is kept for the whole conversation: the callback reads it."""
    _as_young(chat, "under_16")
    chat.send("back")
    chat.send("back")
    assert chat.key == "who.ask"
    chat.pick("me")
    replies = chat.pick("ask_call")
    assert not _asks_for_a_call(replies)
    assert chat.key == "young.under_16"
