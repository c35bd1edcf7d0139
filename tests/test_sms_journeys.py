"""Every journey of the engine, end to end through the SMS channel: signed
Twilio webhooks in, TwiML out, on SQLite and PostgreSQL.

The journeys of tests/test_journeys.py and tests/test_global_words.py are
imported and run here with `chat` driving POST /sms/inbound (tests/sms_support
`SmsChat`), which checks on every turn that the TwiML carries exactly the SMS
rendering of what the engine answered. Tests that build their own `Chat` are
run once per channel from tests/test_channel_journeys.py; Telegram's
channel-recognised commands (/start...) have no SMS form, and their typed
equivalents (MENU, LANG, EXIT) run in the imported tests.
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
    test_16_or_17_gets_young_wording_and_no_pregnancy_question,
    test_a_topic_is_read_and_menu_and_back_work,
    test_a_typed_day_and_time_is_understood_at_the_first_timing_question,
    test_callback_request_with_every_safe_contact_check,
    test_carrier_opt_out_words_are_not_the_bots_commands,
    test_confirmation_outside_callback_hours_points_to_the_24_hour_helpline,
    test_danger_answer_gives_emergency_guidance_at_once,
    test_first_contact_is_a_neutral_greeting_then_the_safety_question,
    test_leaving_and_coming_back_updates_the_same_saved_request,
    test_no_safe_number_points_to_helplines,
    test_not_now_says_how_to_come_back_and_the_next_message_starts_afresh,
    test_own_behaviour_strangulation_is_urgent_on_its_own,
    test_own_behaviour_triage_asks_about_partner_children_and_orders,
    test_professional_triage_is_about_the_person_referred,
    test_reflection_gives_gentle_guidance_and_offers_a_call,
    test_refusing_consent_keeps_nothing,
    test_returning_person_sees_status_changes_times_and_cancels,
    test_someone_else_triage_is_about_the_friend_and_a_weapon_is_urgent,
    test_summary_change_returns_to_summary_after_that_section,
    test_the_request_is_saved_once_number_and_time_are_given,
    test_under_16_gets_no_adult_callback,
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
