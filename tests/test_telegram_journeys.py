"""Every journey of the engine, end to end through /telegram/webhook and the real
python-telegram-bot Application, on SQLite and PostgreSQL.

The journeys of test_journeys.py are imported and run with `chat` as a
TelegramChat: buttons are pressed where a journey picks an option, text is
typed elsewhere, and each step checks that what reached the (fake) Bot API is
exactly the rendering of the engine's replies. Those of test_global_words.py
and test_safety_journeys.py run the same way from
test_telegram_safety_journeys.py, so that neither file alone holds up a
`--dist loadfile` run.

On Telegram the sender is not a phone number, so the callback flow asks for a
number instead of "may we call this one?". The shared helpers that answer that
question are swapped for Telegram's (autouse fixture below); the journeys that
answer it inline run once per channel from tests/test_channel_journeys.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.channels.telegram import client as telegram
from bot.engine import Engine
from tests import test_global_words, test_journeys
from tests.fake_bot_api import FakeBotApi
from tests.telegram_driver import TelegramChat, telegram_engine, webhook_client
from tests.test_journeys import (  # noqa: F401 - collected here, run through Telegram
    open_callback,
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
    test_reflection_gives_gentle_guidance_and_offers_a_call,
    test_refusing_consent_keeps_nothing,
    test_returning_person_sees_status_changes_times_and_cancels,
    test_someone_else_triage_is_about_the_friend_and_a_weapon_is_urgent,
    test_summary_change_returns_to_summary_after_that_section,
    test_the_request_is_saved_once_number_and_time_are_given,
    test_under_16_gets_no_adult_callback,
)

SAFE_NUMBER = "07911 120123"  # typed by the person; stored as +447911120123


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
