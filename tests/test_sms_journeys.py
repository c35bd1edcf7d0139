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
from tests.test_safety_journeys import (  # noqa: F401 - collected and run through SMS
    test_safety_a_child_is_never_asked_about_pregnancy,
    test_safety_a_danger_message_in_polish_mid_journey_in_english,
    test_safety_a_disclosure_in_the_note_is_kept_flagged_and_urgent,
    test_safety_a_safe_number_with_999_in_it_is_a_number,
    test_safety_a_signal_after_a_request_flags_the_open_request,
    test_safety_crisis_at_a_menu_offers_its_choices_and_back_returns,
    test_safety_crisis_mid_callback_is_answered_and_the_question_kept,
    test_safety_danger_and_crisis_together_put_the_emergency_first,
    test_safety_danger_at_a_menu_keeps_the_place_and_says_where_we_were,
    test_safety_danger_at_the_first_callback_question_is_not_a_bad_number,
    test_safety_first_message_crisis_gets_samaritans_then_a_call_or_the_menu,
    test_safety_first_message_danger_gets_the_guidance_and_nothing_else,
    test_safety_first_message_from_a_child_gets_childline,
    test_safety_ordinary_first_messages_get_the_greeting,
    test_safety_someone_who_may_hurt_someone_is_told_to_step_away,
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
