"""The global words and the safety journeys (tests/test_global_words.py,
tests/test_safety_journeys.py) end to end through /telegram/webhook and the real
python-telegram-bot Application, on SQLite and PostgreSQL, with the fixtures
and helpers of tests/test_telegram_journeys.py (a separate file only so that
`--dist loadfile` can run the two halves side by side).
"""

from __future__ import annotations

from tests.test_global_words import (  # noqa: F401 - collected and run through Telegram
    test_a_command_the_channel_recognised_wins_over_the_text,
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
from tests.test_safety_journeys import (  # noqa: F401 - collected and run through Telegram
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
from tests.test_telegram_journeys import (  # noqa: F401 - the same fixtures
    chat,
    client,
    telegram_helpers,
    tg_engine,
)
