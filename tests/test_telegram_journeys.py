"""Every journey of the engine, end to end through /telegram/webhook and the real
python-telegram-bot Application, on SQLite and PostgreSQL.

The journeys of test_journeys.py and test_global_words.py are imported and run
with `chat` as a TelegramChat: buttons are pressed where a journey picks an
option, text is typed elsewhere, and each step checks that what reached the
(fake) Bot API is exactly the rendering of the engine's replies.

On Telegram the sender is not a phone number, so the callback flow asks for a
number instead of "may we call this one?". The shared helpers that answer that
question are swapped for Telegram's (autouse fixture below), and the journeys
that answer it inline are adapted here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.telegram import client as telegram
from bot.engine import Engine
from tests import test_global_words, test_journeys
from tests.fake_bot_api import FakeBotApi, FakeBotApiServer
from tests.telegram_driver import TelegramChat, telegram_engine, webhook_client
from tests.test_global_words import (  # noqa: F401 - collected here, run through Telegram
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
from tests.test_journeys import (  # noqa: F401
    _path_to_flow,
    details,
    open_callback,
    requests,
    test_16_or_17_gets_young_wording_and_no_pregnancy_question,
    test_a_topic_is_read_and_menu_and_back_work,
    test_a_typed_day_and_time_is_understood_at_the_first_timing_question,
    test_an_old_button_after_confirming_never_shows_an_empty_reference,
    test_callback_request_with_every_safe_contact_check,
    test_carrier_opt_out_words_are_not_the_bots_commands,
    test_danger_answer_gives_emergency_guidance_at_once,
    test_first_contact_is_a_neutral_greeting_then_the_safety_question,
    test_leaving_and_coming_back_updates_the_same_saved_request,
    test_no_safe_number_points_to_helplines,
    test_not_now_says_how_to_come_back_and_the_next_message_starts_afresh,
    test_own_behaviour_strangulation_is_urgent_on_its_own,
    test_own_behaviour_triage_asks_about_partner_children_and_orders,
    test_professional_triage_is_about_the_person_referred,
    test_refusing_consent_keeps_nothing,
    test_returning_person_sees_status_changes_times_and_cancels,
    test_someone_else_triage_is_about_the_friend_and_a_weapon_is_urgent,
    test_summary_change_returns_to_summary_after_that_section,
    test_the_request_is_saved_once_number_and_time_are_given,
    test_under_16_gets_no_adult_callback,
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

SAFE_NUMBER = "07911 120123"  # typed by the person; stored as +447911120123


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApiServer() as state:
        yield state


@pytest.fixture
def tg_engine(engine: Engine, tmp_path: Path, fake: FakeBotApi) -> Engine:
    return telegram_engine(engine, tmp_path, fake)


@pytest.fixture
def client(tg_engine: Engine) -> Iterator:
    with webhook_client(tg_engine) as test_client:
        yield test_client


@pytest.fixture
def chat(tg_engine: Engine, client, fake: FakeBotApi) -> TelegramChat:  # noqa: ANN001
    return TelegramChat(tg_engine, client, fake)


# ----- Telegram's answers to "which number is safe?" ----------------------------
def give_number(chat: TelegramChat) -> None:
    """test_journeys.give_number: on Telegram the safe number is typed."""
    assert chat.key == "callback.other_number"
    chat.send(SAFE_NUMBER)


def into_callback(chat: TelegramChat) -> None:
    chat.start("me")
    open_callback(chat)
    chat.send(SAFE_NUMBER)
    chat.pick("choose")


@pytest.fixture(autouse=True)
def telegram_helpers(monkeypatch: pytest.MonkeyPatch) -> None:
    """The imported journeys call these helpers by module name: use Telegram's.
    A test types faster than any person: lift the one-a-second pace per chat
    (test_telegram.py checks that pace on its own)."""
    monkeypatch.setattr(telegram, "PER_CHAT_RATE", 1000.0)
    monkeypatch.setattr(test_journeys, "give_number", give_number)
    monkeypatch.setattr(test_journeys, "PHONE", "+447911120123")
    monkeypatch.setattr(test_global_words, "into_callback", into_callback)


# ----- journeys adapted to a sender that is not a phone number --------------------
def test_each_audience_gets_its_own_menu(
    tg_engine: Engine,
    client,  # noqa: ANN001
    fake: FakeBotApi,
) -> None:
    for n, audience in enumerate(("me", "someone_else", "own_behaviour", "professional")):
        chat = TelegramChat(tg_engine, client, fake, chat_id=600100 + n)
        chat.start(audience)
        assert chat.key == f"menus.{audience}"
        assert 1 <= len(chat.option_ids()) <= 5


def test_reflection_gives_gentle_guidance_and_offers_a_call(chat: TelegramChat) -> None:
    chat.start("me")
    for option_id in _path_to_flow(chat, "flow:reflection"):
        chat.pick(option_id)
    assert chat.last[0].key == "reflection.intro"
    while chat.key.startswith("reflection.q_"):
        chat.pick("yes" if chat.key == "reflection.q_checks" else "no")
    assert chat.key == "reflection.result_some"
    assert "can be a form of abuse" in chat.last[-1].sms
    chat.pick("ask_call")
    assert chat.key == "callback.consent"


def test_telegram_sender_is_asked_for_a_valid_number(chat: TelegramChat) -> None:
    chat.start("someone_else")
    open_callback(chat)
    assert chat.key == "callback.other_number"
    chat.send("12345")
    assert chat.last[0].key == "callback.number_invalid"
    chat.send("07911 123 456")
    assert chat.key == "callback.when"
    chat.pick("asap")
    assert chat.key == "triage.someone_else_hurt"
    chat.pick("skip_all")
    chat.pick("send")
    chat.pick("looks_right")
    [request] = requests(chat)
    assert request.route == "someone_else" and request.asap is True and request.complete
    assert details(chat, request) == {"phone": "+447911123456"}
    assert request.channel == "telegram"


def test_a_number_outside_the_known_ranges_is_read_back_on_telegram(chat: TelegramChat) -> None:
    chat.start("me")
    open_callback(chat)
    replies = chat.send("07911 654321")  # possible, but not in the metadata's ranges
    assert chat.key == "callback.number_confirm"
    assert replies[-1].sms.startswith("Is 07911 654321 right?")
    chat.pick("no")
    chat.send("07700 900123")  # the example in our own question
    chat.pick("yes")
    assert chat.key == "callback.when"
    chat.pick("asap")
    [request] = requests(chat)
    assert details(chat, request)["phone"] == "+447700900123"


def test_a_queued_request_within_10_messages_of_hello(chat: TelegramChat) -> None:
    sent = 0

    def press(option: str) -> None:
        nonlocal sent
        sent += 1
        chat.pick(option)

    chat.send("hello")
    sent += 1
    press("yes")
    press("me")
    for option in _path_to_flow(chat, "flow:callback"):
        press(option)
    press("yes")  # consent
    chat.send(SAFE_NUMBER)
    sent += 1
    press("asap")
    press("skip_all")
    press("send")
    press("looks_right")
    assert chat.key == "callback.confirmed" and sent <= 10
    [request] = requests(chat)
    assert request.complete and request.status == "open"


def test_without_a_safe_number_skip_points_to_helplines(chat: TelegramChat) -> None:
    """SMS offers "No number is safe"; on Telegram the number question is typed,
    so SKIP (which the request's first message explains) leads to the
    helplines, MENU leaves, and nothing is kept."""
    chat.start("me")
    open_callback(chat)
    assert chat.key == "callback.other_number"
    chat.send("skip")
    assert chat.key == "callback.no_number"
    chat.send("menu")
    assert chat.key == "menus.me"
    assert requests(chat) == []
