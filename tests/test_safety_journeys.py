"""The safety screen end to end: each signal as a first message and mid-journey,
in English and other languages, a disclosure in a callback answer, and what
the call-handler then sees. Run here through the engine, and imported by
test_sms_journeys (signed Twilio webhooks) and test_telegram_journeys (the
real python-telegram-bot Application), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.engine import Engine
from tests import test_global_words, test_journeys
from tests.conftest import Chat
from tests.dashboard_support import Clock, add_user, app_with_clock, make_request, signed_in
from tests.test_journeys import details, open_callback, requests


def _keys(replies: list) -> list[str]:
    return [r.key for r in replies]


# ----- first messages ----------------------------------------------------------------
def test_safety_first_message_danger_gets_the_guidance_and_nothing_else(chat: Chat) -> None:
    replies = chat.send("hes at the door")
    assert _keys(replies) == ["words.danger"]
    assert "999" in replies[0].sms and "55" in replies[0].sms
    assert _keys(chat.send("hello")) == ["first_contact.greeting", "first_contact.safe_to_text"]


def test_safety_first_message_crisis_gets_samaritans_then_a_call_or_the_menu(chat: Chat) -> None:
    replies = chat.send("i want to kill myself")
    assert _keys(replies) == ["signals.crisis"]
    sms = replies[0].sms
    assert "999" in sms and "116 123" in sms and "85258" in sms
    assert "didn't understand" not in sms
    assert chat.option_ids() == ["callback", "text_worker", "menu"]
    chat.pick("callback")
    assert chat.key == "callback.consent"


def test_safety_first_message_from_a_child_gets_childline(chat: Chat) -> None:
    replies = chat.send("im 14 and my dad hits my mum")
    assert _keys(replies) == ["signals.child"]
    assert "0800 1111" in replies[0].sms and "999" in replies[0].sms
    chat.pick("menu")
    assert chat.key == "who.ask"


def test_safety_someone_who_may_hurt_someone_is_told_to_step_away(chat: Chat) -> None:
    replies = chat.send("i want to kill her")
    assert _keys(replies) == ["signals.harm_risk"]
    assert "0808 802 4040" in replies[0].sms and "999" in replies[0].sms
    chat.pick("change")
    assert chat.key == "menus.own_behaviour"


def test_safety_danger_and_crisis_together_put_the_emergency_first(chat: Chat) -> None:
    replies = chat.send("hes outside and ive taken all my pills")
    assert _keys(replies) == ["words.danger", "signals.crisis"]


@pytest.mark.parametrize(
    "text", ["help", "I'm not in danger now", "the police came last year", "07700 900999"]
)
def test_safety_ordinary_first_messages_get_the_greeting(chat: Chat, text: str) -> None:
    keys = _keys(chat.send(text))
    assert "words.danger" not in keys and not any(k.startswith("signals.") for k in keys)
    assert "first_contact.greeting" in keys


# ----- mid-journey ---------------------------------------------------------------------
def test_safety_danger_at_a_menu_keeps_the_place_and_says_where_we_were(chat: Chat) -> None:
    chat.start("me")
    menu = chat.key
    replies = chat.send("he's got a knife")
    assert _keys(replies) == ["words.danger", "signals.were_asking", menu]
    chat.send("1")
    assert chat.key != menu


def test_safety_crisis_at_a_menu_offers_its_choices_and_back_returns(chat: Chat) -> None:
    chat.start("me")
    assert _keys(chat.send("i cant go on anymore")) == ["signals.crisis"]
    chat.send("back")
    assert chat.key == "menus.me"


def test_safety_danger_at_the_first_callback_question_is_not_a_bad_number(chat: Chat) -> None:
    chat.start("me")
    open_callback(chat)
    where = chat.key
    replies = chat.send("i cant breathe")
    assert _keys(replies) == ["words.danger", "signals.were_asking", where]


def test_safety_a_safe_number_with_999_in_it_is_a_number(chat: Chat) -> None:
    chat.start("me")
    open_callback(chat)
    if chat.key == "callback.number_check":
        chat.pick("other")
    assert chat.key == "callback.other_number"
    replies = chat.send("07911 123999")
    assert "words.danger" not in _keys(replies)
    assert chat.key == "callback.when"


def test_safety_crisis_mid_callback_is_answered_and_the_question_kept(chat: Chat) -> None:
    test_global_words.into_callback(chat)
    assert chat.key == "callback.days"
    replies = chat.send("i want to die")
    assert _keys(replies) == ["signals.crisis", "signals.were_asking", "callback.days"]
    assert replies[0].options == ()  # the request carries on: no choices that leave it
    chat.send("mon")
    assert chat.key == "callback.window"


def test_safety_a_disclosure_in_the_note_is_kept_flagged_and_urgent(chat: Chat) -> None:
    chat.start("me")
    chat.send("menu")
    open_callback(chat)
    test_journeys.callback_answers(chat)
    chat.pick("skip_all")
    test_journeys.practical_answers(chat)
    note = "he said he will kill me tonight and he has a knife"
    replies = chat.send(note)
    assert replies[0].key == "words.danger"
    assert chat.key == "callback.summary"  # the note was kept as the answer
    chat.pick("looks_right")
    [request] = requests(chat)
    assert request.priority >= chat.engine.settings.urgent_priority
    assert {"danger_now", "threats_to_kill", "weapon"} <= set(request.safety_flags)
    assert details(chat, request)["note"] == note
    assert all(" " not in code for code in request.safety_flags)  # codes, never words


def test_safety_a_signal_after_a_request_flags_the_open_request(chat: Chat) -> None:
    test_journeys.make_request(chat)
    [before] = requests(chat)
    assert before.safety_flags == [] and before.priority == 0
    assert chat.send("hes outside now")[0].key == "words.danger"
    [after] = requests(chat)
    assert "danger_now" in after.safety_flags
    assert after.priority >= chat.engine.settings.urgent_priority


def test_safety_a_child_is_never_asked_about_pregnancy(chat: Chat) -> None:
    chat.send("im 16 and my boyfriend checks my phone")
    assert chat.key == "signals.child"
    chat.pick("callback")
    test_journeys.callback_answers(chat)
    asked = test_journeys.triage_asked(chat)
    assert "triage.me_pregnant" not in asked and chat.key == "callback.more"


# ----- other languages -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "key", "locale"),
    [
        ("pomocy on mnie bije", "words.danger", "pl"),
        ("ajutor ma bate", "words.danger", "ro"),
        ("допоможіть він мене б'є", "words.danger", "uk"),
        ("meri madad karo woh mujhe maar raha hai", "words.danger", "ur"),
        ("chcę się zabić", "signals.crisis", "pl"),
        ("vreau sa ma sinucid", "signals.crisis", "ro"),
    ],
)
def test_safety_signals_are_answered_in_the_language_they_were_written_in(
    chat: Chat, text: str, key: str, locale: str
) -> None:
    replies = chat.send(text)
    assert replies[0].key == key and replies[0].locale == locale
    chat.send("menu")  # the conversation itself began in that language
    assert chat.last[-1].locale == locale


def test_safety_a_danger_message_in_polish_mid_journey_in_english(chat: Chat) -> None:
    chat.start("me")
    replies = chat.send("ratunku on tu jest z nozem")
    assert replies[0].key == "words.danger" and replies[0].locale == "pl"
    assert replies[-1].key == "menus.me" and replies[-1].locale == "en"


# ----- what the call-handler sees -----------------------------------------------------
def test_safety_flags_show_on_the_dashboard_without_the_words(engine: Engine) -> None:
    clock = Clock()
    reference = make_request(engine, clock.now, priority=3, flags=["danger_now", "strangulation"])
    add_user(engine, "alice", "handler")
    client, _ = signed_in(app_with_clock(engine, clock), "alice")
    queue = client.get("/dashboard").text
    assert "Safety screen: danger now" in queue
    page = client.get(f"/dashboard/requests/{reference}").text
    assert "suggests danger now" in page and "strangling" in page
    assert "check with them on the call" in page
