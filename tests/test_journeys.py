"""Every front-door journey, end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from bot.storage.models import CallbackRequest
from tests.conftest import Chat


def requests(chat: Chat) -> list[CallbackRequest]:
    with Session(chat.engine.db.engine) as session:
        return list(session.execute(select(CallbackRequest)).scalars())


def details(chat: Chat, request: CallbackRequest) -> dict:
    return chat.engine.vault.open(request.details_enc)


def test_first_contact_is_a_neutral_greeting_then_the_safety_question(chat: Chat) -> None:
    replies = chat.send("hi")
    assert [r.key for r in replies] == ["first_contact.greeting", "first_contact.safe_to_text"]
    greeting = replies[0].sms
    assert "EXIT" in greeting and "delete" in greeting
    assert "abuse" not in greeting.lower()[:60]
    assert chat.option_ids() == ["yes", "not_now", "danger"]


def test_not_now_says_how_to_come_back_and_the_next_message_starts_afresh(chat: Chat) -> None:
    chat.send("hi")
    assert [r.key for r in chat.pick("not_now")] == ["first_contact.not_now"]
    assert "EXIT" in chat.last[0].sms and "delete" in chat.last[0].sms
    assert chat.keys("hello again") == ["first_contact.greeting", "first_contact.safe_to_text"]


def test_danger_answer_gives_emergency_guidance_at_once(chat: Chat) -> None:
    chat.send("hi")
    replies = chat.pick("danger")
    assert replies[0].key == "words.danger"
    assert "999" in replies[0].sms and "55" in replies[0].sms and "BSL" in replies[0].sms
    chat.pick("safe_now")
    assert chat.key == "who.ask"


def test_each_audience_gets_its_own_menu(engine) -> None:  # noqa: ANN001
    for n, audience in enumerate(("me", "someone_else", "own_behaviour", "professional")):
        chat = Chat(engine, address=f"+44770090010{n}")
        chat.start(audience)
        assert chat.key == f"menus.{audience}"
        assert 1 <= len(chat.option_ids()) <= 5


def test_a_topic_is_read_and_menu_and_back_work(chat: Chat) -> None:
    chat.start("me")
    menu_options = chat.option_ids()
    chat.send("1")
    first = chat.key
    assert first.startswith(("abuse.", "info.", "local.", "safety.", "specialist."))
    chat.send("back")
    assert chat.key == "menus.me" and chat.option_ids() == menu_options
    chat.send("1")
    chat.send("MENU")
    assert chat.key == "menus.me"


def test_reflection_gives_gentle_guidance_and_offers_a_call(chat: Chat) -> None:
    chat.start("me")
    path = _path_to_flow(chat, "flow:reflection")
    for option_id in path:
        chat.pick(option_id)
    assert chat.last[0].key == "reflection.intro"
    while chat.key.startswith("reflection.q_"):
        chat.pick("yes" if chat.key == "reflection.q_checks" else "no")
    assert chat.key == "reflection.result_some"
    assert "can be a form of abuse" in chat.last[-1].sms
    chat.pick("ask_call")
    assert chat.key == "callback.number_check"


def _path_to_flow(chat: Chat, goto: str) -> list[str]:
    """Option ids from the current menu to the first option that leads to `goto`."""
    content = chat.engine.content
    start = chat.key
    queue = [(start, [])]
    seen = {start}
    while queue:
        key, path = queue.pop(0)
        for option in content.entry(key).options:
            if option.goto == goto:
                return [*path, option.id]
            if option.goto in content.entries and option.goto not in seen:
                seen.add(option.goto)
                queue.append((option.goto, [*path, option.id]))
    raise AssertionError(f"no way from {start} to {goto}")


def open_callback(chat: Chat) -> None:
    """From the current menu, pick the options that lead to "Ask for a call back"."""
    for option_id in _path_to_flow(chat, "flow:callback"):
        chat.pick(option_id)


def callback_answers(chat: Chat) -> None:
    """From the number question to the summary, answering as a person might on SMS."""
    assert chat.key == "callback.number_check"
    chat.send("yes")
    assert chat.key == "callback.when"
    chat.pick("choose")
    chat.send("Monday and wed")
    assert chat.key == "callback.window"
    chat.pick("morning")
    chat.send("no")  # voicemail
    chat.send("yes pls")  # text first
    chat.send("Yse")  # withheld, misspelt
    chat.pick("wrong_number")
    chat.send("bluebell")  # code word
    chat.send("Sam")  # name
    chat.pick("english")
    chat.pick("woman")
    chat.pick("none")
    chat.pick("essex")
    chat.send("Colchester")
    assert chat.key == "callback.urgency_intro" or chat.last[-1].key == "urgency.afraid"


def test_callback_request_with_every_safe_contact_check(chat: Chat) -> None:
    chat.start("me")
    chat.send("menu")
    open_callback(chat)
    assert [r.key for r in chat.last] == ["callback.intro", "callback.number_check"]
    callback_answers(chat)
    replies = chat.pick("yes")  # afraid of being seriously hurt
    assert replies[0].key == "callback.urgent_reminder" and "999" in replies[0].sms
    chat.pick("yes")  # getting worse
    chat.pick("no")
    chat.pick("yes")  # children
    assert chat.key == "callback.note"
    chat.send("Please call after the school run")
    assert chat.key == "callback.summary"
    summary = chat.last[-1].sms
    assert "0123" in summary and "+447700900123" not in summary
    assert "bluebell" in summary and "Sam" in summary and "Colchester" in summary
    chat.pick("looks_right")
    assert chat.key == "callback.consent" and "28 days" in chat.last[-1].sms
    chat.pick("yes")
    assert chat.key == "callback.confirmed"
    [request] = requests(chat)
    assert request.reference in chat.last[-1].sms
    assert request.reference.startswith("FD-") and len(request.reference) == 7
    assert request.route == "me" and request.area == "colchester"
    assert request.team == "essex_north" and request.priority == 3 + 2 + 1
    assert request.voicemail_ok is False and request.text_first_ok is True
    assert request.withheld_ok is True and request.if_someone_else == "wrong_number"
    assert request.asap is False
    assert request.safe_windows == [
        {"day": "mon", "start": "09:00", "end": "12:00"},
        {"day": "wed", "start": "09:00", "end": "12:00"},
    ]
    secret = details(chat, request)
    assert secret["phone"] == "+447700900123" and secret["code_word"] == "bluebell"
    assert secret["name"] == "Sam" and secret["note"] == "Please call after the school run"
    assert request.retain_until - request.created_at == timedelta(days=28)


def test_summary_change_returns_to_summary_after_that_section(chat: Chat) -> None:
    chat.start("me")
    chat.send("menu")
    open_callback(chat)
    callback_answers(chat)
    for _ in range(4):
        chat.pick("no")
    chat.send("skip")
    assert chat.key == "callback.summary"
    chat.pick("change")
    chat.pick("about")
    assert chat.key == "callback.code_word"
    chat.send("sunflower")
    chat.send("skip")  # name
    chat.pick("english")
    chat.pick("either")
    chat.pick("none")
    assert chat.key == "callback.summary"
    assert "sunflower" in chat.last[-1].sms
    chat.pick("looks_right")
    chat.pick("yes")
    [request] = requests(chat)
    assert details(chat, request)["code_word"] == "sunflower"
    assert "name" not in details(chat, request)
    assert request.handler_gender == "either" and request.area == "colchester"


def test_telegram_style_sender_is_asked_for_a_valid_number(engine) -> None:  # noqa: ANN001
    chat = Chat(engine, channel="telegram", address="123456", phone=False)
    chat.start("someone_else")
    open_callback(chat)
    assert [r.key for r in chat.last] == ["callback.intro", "callback.other_number"]
    chat.send("12345")
    assert chat.last[0].key == "callback.number_invalid"
    chat.send("07911 123 456")
    assert chat.key == "callback.when"
    chat.pick("asap")
    for _ in range(3):
        chat.send("skip")
    chat.send("skip")  # someone else answers
    chat.send("skip")  # code word
    chat.send("skip")  # name
    chat.send("skip")  # language
    chat.send("skip")  # gender
    chat.send("skip")  # access
    chat.pick("thurrock")
    assert chat.last[0].key == "callback.urgency_intro"  # asked for someone else too
    for _ in range(4):
        chat.send("skip")
    chat.send("skip")  # note
    chat.pick("looks_right")
    chat.pick("yes")
    [request] = requests(chat)
    assert request.route == "someone_else" and request.asap is True
    assert details(chat, request) == {"phone": "+447911123456"}
    assert request.channel == "telegram" and request.team == "thurrock"


def test_own_behaviour_self_referral_skips_victim_urgency_questions(chat: Chat) -> None:
    chat.start("own_behaviour")
    open_callback(chat)
    chat.send("yes")
    chat.pick("asap")
    for _ in range(9):  # voicemail to access needs
        chat.send("skip")
    chat.pick("southend")
    assert chat.key == "callback.note"
    chat.send("skip")
    chat.pick("looks_right")
    chat.pick("yes")
    [request] = requests(chat)
    assert request.route == "own_behaviour" and request.priority == 0
    assert request.team == "southend"


def test_professional_asks_for_an_advice_call(chat: Chat) -> None:
    chat.start("professional")
    open_callback(chat)
    chat.send("yes")
    chat.pick("asap")
    for _ in range(9):  # voicemail to access needs
        chat.send("skip")
    chat.send("skip")  # area
    chat.send("skip")  # note
    assert chat.key == "callback.summary"
    chat.pick("looks_right")
    chat.pick("yes")
    [request] = requests(chat)
    assert request.route == "professional" and request.area is None


def test_refusing_consent_keeps_nothing(chat: Chat) -> None:
    chat.start("me")
    open_callback(chat)
    callback_answers(chat)
    for _ in range(4):
        chat.send("no")
    chat.send("skip")
    chat.pick("looks_right")
    chat.pick("no")
    assert chat.key == "callback.declined"
    assert requests(chat) == []


def test_no_safe_number_points_to_helplines(chat: Chat) -> None:
    chat.start("me")
    open_callback(chat)
    chat.pick("none")
    assert chat.key == "callback.no_number"
    assert "0808 2000 247" in chat.last[-1].sms


def make_request(chat: Chat) -> str:
    chat.start("me")
    open_callback(chat)
    chat.send("yes")
    chat.pick("asap")
    for _ in range(9):  # voicemail to access needs
        chat.send("skip")
    chat.pick("southend")
    for _ in range(5):
        chat.send("skip")
    chat.pick("looks_right")
    chat.pick("yes")
    return requests(chat)[0].reference


def test_returning_person_sees_status_changes_times_and_cancels(chat: Chat) -> None:
    reference = make_request(chat)
    chat.send("exit")
    chat.send("hi")
    chat.pick("yes")
    assert chat.key == "my_request.status"
    assert reference in chat.last[-1].sms and "as soon as possible" in chat.last[-1].sms
    chat.pick("change_times")
    chat.pick("choose")
    chat.send("friday")
    chat.pick("afternoon")
    assert chat.key == "my_request.times_saved"
    assert requests(chat)[0].safe_windows == [{"day": "fri", "start": "12:00", "end": "17:00"}]
    assert "Fri" in chat.last[-1].sms
    chat.send("exit")
    chat.send("hi")
    chat.pick("yes")
    replies = chat.pick("cancel")  # one short step
    assert replies[-1].key == "my_request.cancelled"
    assert requests(chat)[0].status == "cancelled"
    chat.send("exit")
    chat.send("hi")
    chat.pick("yes")
    assert chat.key == "who.ask"  # nothing open any more


def test_carrier_opt_out_words_are_not_the_bots_commands(chat: Chat) -> None:
    reference = make_request(chat)
    assert reference
    for word in ("STOP", "CANCEL", "END", "QUIT", "UNSUBSCRIBE", "STOPALL"):
        assert chat.engine.words.command(word.lower()) is None
    options = chat.engine.content.entry("my_request.status").options
    for option in options:
        assert option.label.upper() not in {"STOP", "CANCEL", "END", "QUIT"}
