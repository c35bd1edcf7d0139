"""Content a practitioner would sign off: the national numbers are the real
ones, each topic is offered to the people it is for within 3 replies of their
menu, the children's pages never lead to an adult callback, local numbers
nobody has confirmed are honest placeholders, and the route for people who
harm is reflective, clear about confidentiality and safety, and points
someone who may be harmed themselves to their own help."""

from __future__ import annotations

from collections import deque

import pytest

from bot.content.model import Content
from bot.engine import Engine
from bot.types import Reply
from tests.conftest import Chat

# The real national numbers (issue 16), exactly as people would dial them.
NATIONAL = {
    "childline": ("phone", "0800 1111"),
    "nspcc": ("phone", "0808 800 5000"),
    "nspcc_fgm": ("phone", "0800 028 3550"),
    "forced_marriage_unit": ("phone", "020 7008 0151"),
    "hourglass": ("phone", "0808 808 8141"),
    "samaritans": ("phone", "116 123"),
    "shout": ("text", "SHOUT to 85258"),
    "essex_police": ("phone", "101"),
}

# topic -> (audience menus it must be offered from within 3 replies, facts it says)
TOPICS = {
    "helplines.low": (("menus.me", "menus.professional"), ("116 123", "SHOUT to 85258")),
    "law.clares_law": (
        ("menus.me", "menus.someone_else", "menus.professional"),
        ("right to ask", "right to know", "Essex Police", "101", "online", "station"),
    ),
    "law.forced_marriage": (
        ("menus.me", "menus.someone_else"),
        ("020 7008 0151", "Forced Marriage Protection Order"),
    ),
    "law.fgm": (("menus.me", "menus.someone_else"), ("0800 028 3550",)),
    "law.court_orders": (("menus.me", "menus.someone_else"), ("non-molestation", "occupation")),
    "law.police_orders": (
        ("menus.me", "menus.someone_else", "menus.professional"),
        ("Domestic Abuse Protection Notices and Orders", "28 days"),
    ),
    "helplines.older": (("menus.someone_else", "menus.professional"), ("0808 808 8141",)),
    "specialist.older": (("menus.me",), ("0808 808 8141",)),
    "specialist.migrants": (
        ("menus.me",),
        ("Migrant Victims of Domestic Abuse Concession", "no recourse to public funds"),
    ),
    "helping.child": (("menus.someone_else",), ("0808 800 5000", "999")),
    "helping.social_care": (
        ("menus.someone_else", "menus.professional"),
        ("Southend", "Essex", "Thurrock"),
    ),
    "young.under_16": (("menus.someone_else", "menus.professional"), ("0800 1111", "under 19")),
    "behaviour.right_now": (("menus.own_behaviour",), ("stop", "Leave the room", "999")),
    "behaviour.victim": (("menus.own_behaviour",), ("worried about how someone treats you",)),
}


def _depths(content: Content, menu: str) -> dict[str, int]:
    """Replies from `menu` to each info entry, following option gotos."""
    depth = {menu: 0}
    queue = deque([menu])
    while queue:
        key = queue.popleft()
        for option in content.entry(key).options:
            goto = option.goto or "menu"
            if goto in content and goto.split(".")[0] != "words" and goto not in depth:
                depth[goto] = depth[key] + 1
                queue.append(goto)
    return depth


def _sms(content: Content, key: str) -> str:
    entry = content.entry(key)
    params = {name: "x" for name in entry.params}
    return content.reply(key, "en", params, options=[]).sms


@pytest.mark.parametrize(("record", "expected"), sorted(NATIONAL.items()))
def test_national_numbers_are_the_real_ones_and_confirmed(
    content: Content, record: str, expected: tuple[str, str]
) -> None:
    field, value = expected
    data = content.data["helplines"][record]
    assert data[field] == value
    assert data["confirmed"] is True


@pytest.mark.parametrize(
    "record", ["social_care_southend", "social_care_essex", "social_care_thurrock"]
)
def test_local_social_care_numbers_are_honest_placeholders(content: Content, record: str) -> None:
    data = content.data["services"][record]
    assert data["confirmed"] is False
    assert "to be confirmed" in data["phone"]
    assert not any(ch.isdigit() for ch in data["phone"])  # never an invented number


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_each_topic_is_offered_to_its_people_within_3_replies(content: Content, topic: str) -> None:
    menus, facts = TOPICS[topic]
    for menu in menus:
        assert _depths(content, menu).get(topic, 99) <= 3, f"{topic} from {menu}"
    text = _sms(content, topic)
    for fact in facts:
        assert fact.lower() in text.lower(), f"{topic} lacks {fact!r}"


@pytest.mark.parametrize(
    "start", ["menus.young", "young.under_16", "young.home", "young.relationship"]
)
def test_childrens_pages_never_lead_to_an_adult_callback(content: Content, start: str) -> None:
    for key in _depths(content, start):
        gotos = [o.goto for o in content.entry(key).options]
        assert "flow:callback" not in gotos, f"{key}, reached from {start}, offers a callback"


def test_childline_is_said_to_be_for_under_19s(content: Content) -> None:
    for key in ("signals.child", "young.under_16", "young.aged_16_17"):
        assert "19" in _sms(content, key)
    assert "helplines.under_16" not in content  # "if you are under 16" is gone


def test_practice_wording_fixes(content: Content) -> None:
    texts = {
        key: " ".join(filter(None, (entry.sms, entry.rich)))
        for key, entry in content.entries.items()
    }
    for key, text in texts.items():
        lowered = text.lower()
        assert lowered.count("honour-based") == lowered.count("so-called honour-based"), key
        if not key.startswith("callback."):  # the callback's label is triage's to change
            assert "text relay" not in lowered, key
    sarc = _sms(content, "local.sarc")
    assert "yourself" in sarc and "7 days" in sarc


def test_anger_management_is_not_offered_as_the_answer(content: Content) -> None:
    assert "Anger-management courses are not designed for abuse" in _sms(
        content, "behaviour.programmes"
    )


# ----- the route for people who harm, end to end ---------------------------------------
def _keys(replies: list[Reply]) -> list[str]:
    return [r.key for r in replies]


@pytest.mark.parametrize("channel", ["sms", "telegram"])
def test_people_who_harm_hear_the_limits_of_confidentiality_first(
    engine: Engine, channel: str
) -> None:
    chat = Chat(engine, channel=channel, phone=channel == "sms")
    replies = chat.start("own_behaviour")
    assert _keys(replies) == ["menus.own_behaviour"]
    shown = replies[0].sms if channel == "sms" else replies[0].rich
    assert "private" in shown and "share" in shown and "999" in shown


def test_is_my_behaviour_abuse_asks_rather_than_judges(chat: Chat) -> None:
    chat.start("own_behaviour")
    replies = chat.pick("is_it_abuse")
    sms = replies[0].sms
    assert sms.count("?") >= 3  # questions to think about
    assert "You are abusive" not in sms and "you are an abuser" not in sms.lower()
    assert "victim" in chat.option_ids()


def test_in_the_moment_advice_is_one_reply_from_the_menu(chat: Chat) -> None:
    chat.start("own_behaviour")
    replies = chat.pick("right_now")
    assert _keys(replies) == ["behaviour.right_now"]
    assert "0808 802 4040" in replies[0].sms


def test_someone_who_harms_and_is_harmed_is_pointed_to_their_own_help(chat: Chat) -> None:
    chat.start("own_behaviour")
    chat.pick("is_it_abuse")
    replies = chat.pick("victim")
    assert "0808 2000 247" in replies[0].sms
    chat.pick("help_for_me")
    assert chat.key == "who.ask"
    chat.pick("me")
    assert chat.key == "menus.me"


def test_a_yes_in_the_reflection_makes_the_route_their_own(chat: Chat) -> None:
    chat.start("own_behaviour")
    chat.pick("is_it_abuse")
    chat.pick("victim")
    chat.pick("reflection")
    assert chat.key.startswith("reflection.q_")
    chat.pick("yes")
    while chat.key.startswith("reflection.q_"):
        chat.pick("no")
    assert chat.key == "reflection.result_some"
    chat.pick("main_menu")
    assert chat.key == "menus.me"  # no longer the menu for people who harm


def test_no_yes_in_the_reflection_keeps_the_route(chat: Chat) -> None:
    chat.start("own_behaviour")
    chat.pick("is_it_abuse")
    chat.pick("victim")
    chat.pick("reflection")
    while chat.key.startswith("reflection.q_"):
        chat.pick("no")
    assert chat.key == "reflection.result_none"
    chat.pick("main_menu")
    assert chat.key == "menus.own_behaviour"


@pytest.mark.parametrize("locale", ["en", "pl", "ro", "lt", "pt", "bg", "tr", "uk", "ur", "ar"])
def test_childrens_numbers_are_said_in_every_language(content: Content, locale: str) -> None:
    for key, numbers in {
        "young.under_16": ("0800 1111", "999"),
        "young.aged_16_17": ("0800 1111", "999"),
        "helping.child": ("0808 800 5000", "999"),
        "helplines.low": ("116 123", "85258"),
    }.items():
        sms = content.reply(key, locale, options=[]).sms
        assert all(n in sms for n in numbers), (key, locale)
