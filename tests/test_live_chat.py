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
    assert chat.keys("hello") == ["live_chat.added"], "not a live chat: it joins the message"


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


# ----- a message left out of hours is a conversation, not a dead letter (issue 12) ----
def leave_message(chat: Chat, text: str = "Please text me about refuge") -> LiveChat:
    """Out of hours, texting later is safe, Tuesday morning, then the message."""
    chat.now = CLOSED
    chat.start()
    chat.pick("ask_call")
    chat.pick("text_worker")
    chat.pick("yes")
    chat.pick("choose")
    chat.send("Tue")
    chat.pick("morning")
    assert chat.send(text)[-1].key == "live_chat.left"
    return the_chat(chat.engine, chat.address)


def worker_answers(engine: Engine, chat_id: int, text: str, now: datetime) -> int:
    """What the dashboard does with a message left: claim it, then reply, if allowed."""
    with engine.db.session() as session:
        found = chats.get_chat(session, chat_id)
        assert found is not None
        if found.status == "waiting":
            assert chats.claim_chat(session, chat_id, 1, now, 3)
            session.refresh(found)
        assert chats.can_reply(found, 1, now, 15) is None
        line = chats.add_worker_message(session, engine.vault, found, 1, text, now)
        session.commit()
        return id_of(line)


TUESDAY = CLOSED + timedelta(hours=12, minutes=30)  # Tue 10:30: inside the safe window


def test_a_later_text_joins_the_message_left_in_order(chat: Chat) -> None:
    found = leave_message(chat)
    added = chat.send("My sister can help too")
    assert [r.key for r in added] == ["live_chat.added"]
    assert "safe time" in added[0].sms and "MENU" in added[0].sms and "EXIT" in added[0].sms
    chat.now = CLOSED + timedelta(hours=3)  # past the inactivity timeout: still the message
    assert chat.keys("I can talk after 10") == ["live_chat.added"]
    assert [(x.author, x.text) for x in lines(chat.engine, id_of(found))] == [
        ("person", "Please text me about refuge"),
        ("person", "My sister can help too"),
        ("person", "I can talk after 10"),
    ]
    still = the_chat(chat.engine)
    assert still.id == found.id and still.status == "waiting" and still.is_message


def test_danger_after_leaving_a_message_gets_999_first_and_the_worker_sees_it(
    chat: Chat,
) -> None:
    found = leave_message(chat)
    danger = own_danger_examples("en")[0]
    assert chat.keys(danger) == ["words.danger", "live_chat.added"]
    assert chat.keys(CRISIS) == ["signals.crisis", "live_chat.added"]
    flagged = the_chat(chat.engine)
    assert {"danger_now", "crisis"} <= set(chats.signal_codes(flagged))
    assert flagged.urgency >= chats.SIGNAL_URGENCY["danger_now"]
    said = lines(chat.engine, id_of(found))
    assert said[-2].text == danger and "danger_now" in said[-2].signals
    assert "crisis" in said[-1].signals


def test_menu_after_leaving_a_message_returns_to_the_bot_and_the_message_waits(
    chat: Chat,
) -> None:
    found = leave_message(chat)
    assert chat.keys("MENU") == ["menus.me"]
    assert chat.keys("about abuse")[-1] != "live_chat.added", "the bot answers again"
    kept = the_chat(chat.engine)
    assert kept.status == "waiting" and kept.outcome is None
    assert [x.text for x in lines(chat.engine, id_of(found))] == ["Please text me about refuge"]
    # "1" on SMS picks the prompt's one option, Main menu: it is not added.
    again = Chat(chat.engine, address="+447700900002")
    other = leave_message(again)
    assert again.keys("1") == ["menus.me"]
    assert len(lines(again.engine, id_of(other))) == 1


def test_exit_after_leaving_a_message_drops_it_and_what_was_queued(chat: Chat) -> None:
    found = leave_message(chat)
    chat.send("one more thing")
    replies = chat.send("EXIT")
    assert [r.key for r in replies] == ["words.exit"] and replies[0].action == "quick_exit"
    ended = the_chat(chat.engine)
    assert ended.status == "ended" and ended.outcome == "person_exit"
    assert [x.text for x in lines(chat.engine, id_of(found))][-1] == "exit"
    assert chat.keys("hello")[0] == "first_contact.greeting", "a fresh start"
    # From the bot, after MENU, EXIT still ends the waiting message, and an
    # answer a worker queued for it never goes.
    again = Chat(chat.engine, address="+447700900002")
    other = leave_message(again)
    again.send("MENU")
    line = worker_answers(again.engine, id_of(other), "Hello, is now safe?", TUESDAY)
    assert again.keys("EXIT") == ["words.exit"]
    assert the_chat(again.engine, "+447700900002").outcome == "person_exit"
    with again.engine.db.session() as session:
        assert session.execute(select(Outbox).where(Outbox.id == line)).first() is None
        session.commit()
    assert lines(again.engine, id_of(other))[-2].delivery == "failed"


def test_a_reply_after_the_worker_answered_reaches_that_worker(chat: Chat) -> None:
    found = leave_message(chat)
    assert chat.keys("MENU") == ["menus.me"]  # the person went on with the bot
    worker_answers(chat.engine, id_of(found), "Hi, it's Sam. Is now a good time?", TUESDAY)
    chat.now = TUESDAY + timedelta(minutes=40)  # a reply well after the worker's line
    assert chat.keys("Yes, he is at work") == [], "as in an open chat: the worker answers"
    danger = own_danger_examples("en")[0]
    assert chat.keys(danger) == ["words.danger", "live_chat.signal_seen"]
    said = lines(chat.engine, id_of(found))
    assert [(x.author, x.text) for x in said][-3:] == [
        ("worker", "Hi, it's Sam. Is now a good time?"),
        ("person", "Yes, he is at work"),
        ("person", danger),
    ]
    assert "danger_now" in chats.signal_codes(the_chat(chat.engine))
    # The worker may answer within the usual reply window after the person's reply.
    worker_answers(chat.engine, id_of(found), "Thank you. Are you safe?", chat.now)
    with chat.engine.db.session() as session:
        live = chats.get_chat(session, id_of(found))
        assert live is not None
        late = chat.now + timedelta(hours=9)  # Tue 20:10: outside the safe window
        assert chats.can_reply(live, 1, late, 15) == "too_late"
        session.commit()
    # Out of hours, a reply is kept for the worker and the person is told when.
    chat.now = CLOSED + timedelta(days=1)
    assert chat.keys("are you still there?") == ["live_chat.added"]
    assert lines(chat.engine, id_of(found))[-1].text == "are you still there?"
    # MENU now ends it, as in a chat: the worker is told.
    assert chat.keys("MENU") == ["live_chat.back_to_bot", "menus.me"]
    ended = the_chat(chat.engine)
    assert ended.status == "ended" and ended.outcome == "person_menu"
    assert chat.keys("about abuse")[-1] != "live_chat.added"
