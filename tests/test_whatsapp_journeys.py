"""The engine's journeys through the WhatsApp channel: signed Twilio webhooks
in, TwiML out, on SQLite and PostgreSQL.

Journeys of tests/test_journeys.py, tests/test_global_words.py and
tests/test_safety_journeys.py run here with `chat` driving POST
/whatsapp/inbound (`WhatsAppChat` in tests/test_whatsapp.py), which checks on
every turn that the TwiML carries exactly the WhatsApp rendering of what the
engine answered.
"""

from __future__ import annotations

import pytest

from bot.engine import Engine
from tests.test_global_words import (  # noqa: F401 - collected and run through WhatsApp
    test_danger_phrases_get_emergency_guidance_from_any_state,
    test_exit_in_any_case_with_stray_punctuation_ends_everything,
    test_menu_and_back_from_inside_a_request,
)
from tests.test_journeys import (  # noqa: F401 - collected and run through WhatsApp
    test_callback_request_with_every_safe_contact_check,
    test_no_safe_number_points_to_helplines,
    test_returning_person_sees_status_changes_times_and_cancels,
)
from tests.test_safety_journeys import (  # noqa: F401 - collected and run through WhatsApp
    test_safety_a_danger_message_in_polish_mid_journey_in_english,
    test_safety_first_message_from_a_child_gets_childline,
)
from tests.whatsapp_support import WhatsAppChat, whatsapp_engine


@pytest.fixture
def chat(engine: Engine) -> WhatsAppChat:
    return WhatsAppChat(whatsapp_engine(engine))
