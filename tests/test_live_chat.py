"""The person's side of texting with a worker (bot/flows/live_chat.py and the
engine's step-back branch), on SQLite and PostgreSQL through the engine.

Every promise the flow makes is walked here: the way in (after "no number is
safe", from the callback's consent, after a crisis or danger reply), the
wait from the live queue, the bot stepping back while the chat waits or is
open, the safety screen still answering (and telling the worker), MENU back
to the bot, EXIT ending the chat and everything, a chat the worker ended,
and out of hours: the helpline, 999, and a message left only when texting
later is safe. SMS and Telegram journeys are in tests/test_live_chat_channels.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.engine import Engine
from bot.storage import chats
from bot.storage.db import id_of
from bot.storage.models import LiveChat, Outbox
from tests.conftest import Chat, own_danger_examples

OPEN = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)  # a Monday afternoon: workers online
CLOSED = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)  # Monday night: next online Tue 10:00
CRISIS = "I want to end my life"


def the_chat(engine: Engine, person: str = "+447700900123", channel: str = "sms") -> LiveChat:
    with engine.db.session() as session:
        found = (
            session.execute(
                select(LiveChat)
                .where(LiveChat.person_key == engine.vault.person_key(channel, person))
                .order_by(LiveChat.id.desc())  # type: ignore[union-attr]
            )
            .scalars()
            .first()
        )
        session.commit()
    assert found is not None, "a chat was started"
    return found


def lines(engine: Engine, chat_id: int) -> list[chats.ChatLine]:
    with engine.db.session() as session:
        found = chats.messages(session, engine.vault, chat_id)
        session.commit()
    return found


def into_chat(chat: Chat) -> None:
    """From the main menu's call back, by "Text instead", to a waiting chat."""
    chat.now = chat.now or OPEN
    chat.start()
    chat.pick("ask_call")
    assert chat.key == "callback.consent"
    chat.pick("text_worker")
    assert chat.key == "live_chat.in_hours"
    chat.pick("start")
    assert chat.key == "live_chat.waiting"


def test_in_hours_the_wait_exit_and_a_worker_replying_here_are_said(chat: Chat) -> None:
    chat.now = OPEN
    chat.start()
    chat.pick("ask_call")
    offer = chat.pick("text_worker")[-1]
    assert offer.key == "live_chat.in_hours"
    assert "Nobody is waiting before you." in offer.sms and "EXIT" in offer.sms
    waiting = chat.pick("start")[-1].sms
    assert "A worker will reply here" in waiting and "EXIT" in waiting and "MENU" in waiting


def test_the_wait_comes_from_the_live_queue(engine: Engine) -> None:
    first, second = Chat(engine, address="+447700900001"), Chat(engine, address="+447700900002")
    into_chat(first)
    second.now = OPEN
    second.start()
    second.pick("ask_call")
    assert "1 person is waiting before you." in second.pick("text_worker")[-1].sms
    with engine.db.session() as session:
        waiting = chats.waiting_and_open(session, OPEN)
        assert chats.claim_chat(session, id_of(waiting[0]), 1, OPEN + timedelta(minutes=6), 3)
        session.commit()
    second.now = OPEN + timedelta(minutes=7)
    second.send("MENU")
    second.pick("ask_call")
    assert "The wait now is about 6 minutes." in second.pick("text_worker")[-1].sms


def test_messages_go_to_the_worker_and_only_the_first_is_answered(chat: Chat) -> None:
    into_chat(chat)
    assert chat.keys("Hello, I can't talk on the phone") == ["live_chat.received"]
    assert chat.keys("He checks my phone at night") == []
    assert chat.keys("HELP") == []  # a word for the worker, not the bot's help
    found = the_chat(chat.engine)
    assert found.status == "waiting" and found.channel == "sms"
    assert [(x.author, x.text) for x in lines(chat.engine, id_of(found))] == [
        ("person", "Hello, I can't talk on the phone"),
        ("person", "He checks my phone at night"),
        ("person", "HELP"),
    ]


def test_danger_mid_chat_gets_999_first_and_the_worker_sees_it_at_once(chat: Chat) -> None:
    into_chat(chat)
    chat.send("hello")
    danger = own_danger_examples("en")[0]
    assert chat.keys(danger) == ["words.danger", "live_chat.signal_seen"]
    assert chat.keys(CRISIS) == ["signals.crisis", "live_chat.signal_seen"]
    found = the_chat(chat.engine)
    assert found.status == "waiting", "the chat goes on"
    assert {"danger_now", "crisis"} <= set(chats.signal_codes(found))
    assert found.urgency >= chats.SIGNAL_URGENCY["danger_now"]
    said = lines(chat.engine, id_of(found))
    assert said[-2].text == danger and "danger_now" in said[-2].signals
    assert "crisis" in said[-1].signals


def test_menu_hands_the_person_back_and_tells_the_worker(chat: Chat) -> None:
    into_chat(chat)
    chat.send("hello")
    assert chat.keys("MENU") == ["live_chat.back_to_bot", "menus.me"]
    found = the_chat(chat.engine)
    assert found.status == "ended" and found.outcome == "person_menu"
    assert [(x.author, x.text) for x in lines(chat.engine, id_of(found))][-1] == ("bot", "menu")
    assert chat.keys("about abuse")[-1] != "live_chat.received", "the bot answers again"


def test_exit_mid_chat_ends_it_and_nothing_queued_goes(chat: Chat) -> None:
    into_chat(chat)
    chat.send("hello")
    found = the_chat(chat.engine)
    with chat.engine.db.session() as session:
        assert chats.claim_chat(session, id_of(found), 1, OPEN, 3)
        live = chats.get_chat(session, id_of(found))
        assert live is not None
        line = chats.add_worker_message(session, chat.engine.vault, live, 1, "Are you safe?", OPEN)
        session.commit()
    replies = chat.send("EXIT")
    assert [r.key for r in replies] == ["words.exit"] and replies[0].action == "quick_exit"
    ended = the_chat(chat.engine)
    assert ended.status == "ended" and ended.outcome == "person_exit"
    with chat.engine.db.session() as session:
        assert session.get(Outbox, line.outbox_id) is None, "the unsent line never goes"
        session.commit()
    assert [x.text for x in lines(chat.engine, id_of(ended))][-1] == "exit"
    assert chat.keys("hello")[0] == "first_contact.greeting", "a fresh start"


def test_a_chat_the_worker_ended_sends_the_person_back_to_the_menu(chat: Chat) -> None:
    into_chat(chat)
    chat.send("hello")
    with chat.engine.db.session() as session:
        live = chats.get_chat(session, id_of(the_chat(chat.engine)))
        assert live is not None
        chats.end_chat(session, live, "support_given", OPEN)
        session.commit()
    assert chat.keys("are you there?") == ["live_chat.ended", "menus.me"]


def test_the_danger_reply_offers_a_worker_by_text(chat: Chat) -> None:
    chat.now = OPEN
    chat.send("hello")
    replies = chat.pick("danger")
    assert [r.key for r in replies] == ["words.danger", "first_contact.after_danger"]
    assert "text_worker" in chat.option_ids()
    assert chat.pick("text_worker")[-1].key == "live_chat.in_hours"


def test_a_typed_danger_first_message_still_gets_the_guidance_alone(chat: Chat) -> None:
    chat.now = OPEN
    assert chat.keys(own_danger_examples("en")[0]) == ["words.danger"]


def test_crisis_reply_offers_a_worker_by_text(chat: Chat) -> None:
    chat.now = OPEN
    chat.start()
    chat.send(CRISIS)
    assert chat.key == "signals.crisis" and "text_worker" in chat.option_ids()
    assert chat.pick("text_worker")[-1].key == "live_chat.in_hours"


def test_no_number_is_safe_offers_a_worker_by_text(chat: Chat) -> None:
    chat.now = OPEN
    chat.start()
    chat.pick("ask_call")
    chat.pick("yes")
    chat.pick("none")
    assert chat.key == "callback.no_number" and "text_worker" in chat.option_ids()
    chat.pick("text_worker")
    assert chat.key == "live_chat.in_hours"


def test_out_of_hours_helpline_999_and_no_message_when_texting_later_is_not_safe(
    chat: Chat,
) -> None:
    chat.now = CLOSED
    chat.start()
    chat.pick("ask_call")
    closed = chat.pick("text_worker")[-1]
    assert closed.key == "live_chat.closed"
    assert "0808 2000 247" in closed.sms and "999" in closed.sms and "Tue" in closed.sms
    assert chat.pick("no")[-1].key == "live_chat.not_safe"
    with chat.engine.db.session() as session:
        assert session.execute(select(LiveChat)).first() is None, "nothing kept"
        session.commit()


def test_out_of_hours_a_message_left_for_the_next_safe_window(chat: Chat) -> None:
    chat.now = CLOSED
    chat.start()
    chat.pick("ask_call")
    chat.pick("text_worker")
    assert chat.pick("yes")[-1].key == "live_chat.when"
    chat.pick("choose")
    chat.send("Tue")
    chat.pick("morning")
    assert chat.key == "live_chat.message"
    left = chat.send("Please text me about refuge")[-1]
    assert left.key == "live_chat.left" and "10:00" in left.sms
    found = the_chat(chat.engine)
    assert found.is_message and found.later_texts_ok and found.status == "waiting"
    assert found.windows == [{"day": "tue", "start": "10:00", "end": "14:00"}]
    assert [x.text for x in lines(chat.engine, id_of(found))] == ["Please text me about refuge"]
    # The worker may answer inside that window, not before it.
    with chat.engine.db.session() as session:
        assert chats.claim_chat(session, id_of(found), 1, CLOSED, 3)
        live = chats.get_chat(session, id_of(found))
        assert live is not None
        assert chats.can_reply(live, 1, CLOSED + timedelta(hours=1), 15) == "too_late"
        assert chats.can_reply(live, 1, CLOSED + timedelta(hours=13), 15) is None
        session.commit()
    assert chat.keys("hello")[-1] != "live_chat.received", "a message is not a live chat"


def test_exit_while_leaving_a_message_keeps_nothing(chat: Chat) -> None:
    chat.now = CLOSED
    chat.start()
    chat.pick("ask_call")
    chat.pick("text_worker")
    chat.pick("yes")
    chat.pick("asap")
    assert chat.keys("EXIT") == ["words.exit"]
    with chat.engine.db.session() as session:
        assert session.execute(select(LiveChat)).first() is None
        session.commit()
