"""Every journey of the engine, end to end through the SMS channel: signed
Twilio webhooks in, TwiML out, on SQLite and PostgreSQL.

The journeys of tests/test_journeys.py and tests/test_global_words.py are
imported and run here with `chat` driving POST /sms/inbound (tests/sms_support
`SmsChat`), which checks on every turn that the TwiML carries exactly the SMS
rendering of what the engine answered. Tests that build their own `Chat` are
adapted below; Telegram's channel-recognised commands (/start...) have no SMS
form, and their typed equivalents (MENU, LANG, EXIT) run in the imported tests.
"""

from __future__ import annotations

import pytest

from bot.engine import Engine
from tests.sms_support import SmsChat, sms_engine
from tests.test_global_words import (  # noqa: F401 - collected and run through SMS
    test_a_reply_just_inside_the_timeout_carries_on,
    test_back_with_nowhere_to_go_says_so,
    test_danger_before_the_first_greeting,
    test_danger_phrases_get_emergency_guidance_from_any_state,
    test_exit_in_any_case_with_stray_punctuation_ends_everything,
    test_help_explains_then_repeats_the_question,
    test_inactivity_restarts_without_echoing_answers,
    test_language_word_offers_languages_in_their_own_names,
    test_menu_and_back_from_inside_a_request,
)
from tests.test_journeys import (  # noqa: F401 - collected and run through SMS
    details,
    open_callback,
    requests,
    test_a_topic_is_read_and_menu_and_back_work,
    test_callback_request_with_every_safe_contact_check,
    test_carrier_opt_out_words_are_not_the_bots_commands,
    test_danger_answer_gives_emergency_guidance_at_once,
    test_first_contact_is_a_neutral_greeting_then_the_safety_question,
    test_no_safe_number_points_to_helplines,
    test_not_now_says_how_to_come_back_and_the_next_message_starts_afresh,
    test_own_behaviour_self_referral_skips_victim_urgency_questions,
    test_professional_asks_for_an_advice_call,
    test_reflection_gives_gentle_guidance_and_offers_a_call,
    test_refusing_consent_keeps_nothing,
    test_returning_person_sees_status_changes_times_and_cancels,
    test_summary_change_returns_to_summary_after_that_section,
)


@pytest.fixture
def chat(engine: Engine) -> SmsChat:
    return SmsChat(sms_engine(engine))


def test_each_audience_gets_its_own_menu(engine: Engine) -> None:
    texting = sms_engine(engine)
    for n, audience in enumerate(("me", "someone_else", "own_behaviour", "professional")):
        chat = SmsChat(texting, address=f"+44770090010{n}")
        chat.start(audience)
        assert chat.key == f"menus.{audience}"
        assert 1 <= len(chat.option_ids()) <= 5


@pytest.mark.parametrize("sender", ["60123", "FrontDoor", "07700900123"])
def test_a_sender_that_is_not_a_callable_number_is_asked_for_one(
    engine: Engine, sender: str
) -> None:
    """Adapted from the Telegram-style journey: a short code, a name or a number
    not in E.164 form cannot be called back, so the person is asked for one."""
    chat = SmsChat(sms_engine(engine), address=sender)
    chat.start("someone_else")
    open_callback(chat)
    assert [r.key for r in chat.last] == ["callback.intro", "callback.other_number"]
    chat.send("12345")
    assert chat.last[0].key == "callback.number_invalid"
    chat.send("07911 123 456")
    assert chat.key == "callback.when"
    chat.pick("asap")
    for _ in range(9):  # voicemail ... access needs
        chat.send("skip")
    chat.pick("thurrock")
    assert chat.last[0].key == "callback.urgency_intro"
    for _ in range(5):  # urgency questions and the note
        chat.send("skip")
    chat.pick("looks_right")
    chat.pick("yes")
    [request] = requests(chat)
    assert request.route == "someone_else" and request.asap is True
    assert details(chat, request) == {"phone": "+447911123456"}
    assert request.channel == "sms" and request.team == "thurrock"
