"""Every front-door journey, end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session

from bot.storage.binding import request_details
from bot.storage.models import CallbackRequest
from tests.conftest import Chat


def requests(chat: Chat) -> list[CallbackRequest]:
    with Session(chat.engine.db.engine) as session:
        return list(session.execute(select(CallbackRequest)).scalars())


def details(chat: Chat, request: CallbackRequest) -> dict:
    return chat.engine.vault.open(request.details_enc, request_details(request.reference))


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
    assert chat.key == "callback.consent"


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


CONSENT = ("callback.consent", "callback.consent_young")
PHONE = "+447700900123"  # the safe number give_number leaves (Telegram's tests swap both)


def to_callback(chat: Chat) -> None:
    """From the current menu, pick the options that lead to "Ask for a call back"."""
    for option_id in _path_to_flow(chat, "flow:callback"):
        chat.pick(option_id)


def open_callback(chat: Chat) -> None:
    """Into the callback and past its consent, to the number question."""
    to_callback(chat)
    assert chat.key in CONSENT
    chat.pick("yes")


def give_number(chat: Chat) -> None:
    """The safe number: on SMS "this number" (Telegram types one, see its tests)."""
    assert chat.key == "callback.number_check"
    chat.send("yes")


def callback_answers(chat: Chat) -> None:
    """From consent or the number question to the first triage question."""
    if chat.key in CONSENT:
        chat.pick("yes")
    give_number(chat)
    assert chat.key == "callback.when"
    chat.pick("choose")
    chat.send("Monday and wed")
    assert chat.key == "callback.window"
    chat.pick("morning")
    assert chat.last[0].key == "callback.triage_intro"
    assert chat.key.startswith("triage.")


def practical_answers(chat: Chat) -> None:
    """From "more questions?" to the note, answering as a person might on SMS."""
    assert chat.key == "callback.more"
    chat.pick("more")
    chat.send("no")  # voicemail
    chat.send("yes pls")  # text first
    chat.send("Yse")  # withheld, misspelt
    chat.pick("wrong_number")
    chat.send("bluebell")  # code word
    if chat.key == "callback.quiet_word":
        chat.send("pizza")
    chat.send("Sam")  # name
    chat.pick("english")
    chat.pick("woman")
    chat.pick("none")
    chat.pick("essex")
    chat.send("Colchester")
    assert chat.key == "callback.note"


def triage_asked(chat: Chat, answer: str = "no") -> list[str]:
    """Answer every triage question the same way; the keys asked, in order."""
    asked = []
    while chat.key.startswith("triage."):
        asked.append(chat.key)
        chat.pick(answer)
    return asked


def set_slot(chat: Chat, name: str, value: str) -> None:
    """Set a conversation slot as another flow (who, support) would."""
    from bot.storage.binding import conversation_slots
    from bot.storage.models import Conversation

    vault = chat.engine.vault
    key = vault.person_key(chat.channel, chat.address)
    with Session(chat.engine.db.engine) as session:
        row = session.execute(
            select(Conversation).where(Conversation.person_key == key)
        ).scalar_one()
        slots = vault.open(row.slots_enc, conversation_slots(key))
        slots[name] = value
        row.slots_enc = vault.seal(slots, conversation_slots(key))
        session.add(row)
        session.commit()


def test_callback_request_with_every_safe_contact_check(chat: Chat) -> None:
    chat.start("me")
    chat.send("menu")
    to_callback(chat)
    consent = chat.last[-1]
    assert [r.key for r in chat.last] == ["callback.consent"]
    assert "28 days" in consent.sms and "up to 20 short questions" in consent.sms
    callback_answers(chat)
    assert chat.last[0].sms.startswith("Thank you. Next, 5 questions")
    assert chat.key == "triage.me_strangled"
    chat.pick("no")
    replies = chat.pick("yes")  # threatened to kill
    assert replies[0].key == "callback.urgent_reminder" and "999" in replies[0].sms
    chat.pick("no")  # weapon
    assert [r.key for r in chat.pick("yes")] == ["triage.me_pregnant"]  # very frightened
    chat.send("skip")  # pregnant
    practical_answers(chat)
    chat.send("Please call after the school run")
    assert chat.key == "callback.summary"
    summary = chat.last[-1].sms
    assert "the number you gave" in summary and "0123" not in summary
    assert "bluebell" not in summary and "Sam" not in summary and "pizza" not in summary
    assert "We have your code word and the name to ask for." in summary
    assert "Colchester" in summary
    chat.pick("looks_right")
    assert chat.key == "callback.confirmed"
    [request] = requests(chat)
    confirmed = chat.last[-1].sms
    assert request.reference in confirmed and "MY REQUEST" in confirmed
    assert "delete these messages" in confirmed and "wrong number" in confirmed
    assert request.reference.startswith("FD-") and len(request.reference) == 7
    assert request.route == "me" and request.area == "colchester" and request.complete
    assert request.team == "essex_north" and request.priority == 3 + 2
    assert request.triage == ["afraid", "threats_to_kill"]
    assert request.voicemail_ok is False and request.text_first_ok is True
    assert request.withheld_ok is True and request.if_someone_else == "wrong_number"
    assert request.asap is False
    assert request.safe_windows == [
        {"day": "mon", "start": "09:00", "end": "12:00"},
        {"day": "wed", "start": "09:00", "end": "12:00"},
    ]
    secret = details(chat, request)
    assert secret["phone"] == PHONE and secret["code_word"] == "bluebell"
    assert secret["quiet_word"] == "pizza"
    assert secret["name"] == "Sam" and secret["note"] == "Please call after the school run"
    assert request.retain_until - request.created_at == timedelta(days=28)


def test_the_request_is_saved_once_number_and_time_are_given(chat: Chat) -> None:
    chat.start("me")
    open_callback(chat)
    give_number(chat)
    assert requests(chat) == []  # no safe time yet
    chat.pick("asap")
    [saved] = requests(chat)
    assert saved.status == "open" and saved.complete is False and saved.asap is True
    assert details(chat, saved) == {"phone": PHONE}
    replies = chat.pick("yes")  # strangled: urgent on its own
    assert replies[0].key == "callback.urgent_reminder"
    [saved] = requests(chat)
    assert saved.priority >= chat.engine.settings.urgent_priority
    assert saved.triage == ["strangled"] and saved.complete is False
    chat.pick("skip_all")
    chat.pick("more")
    chat.send("no")  # voicemail
    [saved] = requests(chat)
    assert saved.voicemail_ok is False
    chat.send("exit")  # stops here: the handler still has what they need
    [kept] = requests(chat)
    assert kept.reference == saved.reference and kept.complete is False
    assert kept.voicemail_ok is False and details(chat, kept)["phone"] == PHONE


def test_leaving_and_coming_back_updates_the_same_saved_request(chat: Chat) -> None:
    chat.start("me")
    open_callback(chat)
    give_number(chat)
    chat.pick("asap")
    [saved] = requests(chat)
    chat.send("menu")
    to_callback(chat)
    chat.pick("yes")
    give_number(chat)
    chat.send("fri")
    chat.pick("morning")
    [again] = requests(chat)
    assert again.reference == saved.reference and again.asap is False
    chat.send("menu")
    to_callback(chat)
    chat.pick("no")  # no consent this time: the saved request is withdrawn
    assert chat.key == "callback.declined"
    [withdrawn] = requests(chat)
    assert withdrawn.status == "cancelled" and details(chat, withdrawn) == {}


def test_an_unfinished_request_left_with_exit_is_filled_again_not_twinned(chat: Chat) -> None:
    chat.start("me")
    open_callback(chat)
    give_number(chat)
    chat.pick("asap")
    [saved] = requests(chat)
    chat.send("exit")  # the conversation is forgotten; the saved request stays
    chat.start("me")
    open_callback(chat)
    give_number(chat)
    chat.send("fri")
    chat.pick("morning")
    [again] = requests(chat)  # one request for one person, never two calls
    assert again.reference == saved.reference and again.asap is False
    assert again.status == "open" and again.complete is False


def test_summary_change_returns_to_summary_after_that_section(chat: Chat) -> None:
    chat.start("me")
    chat.send("menu")
    open_callback(chat)
    callback_answers(chat)
    triage_asked(chat)
    practical_answers(chat)
    chat.send("skip")
    assert chat.key == "callback.summary"
    chat.pick("change")
    chat.pick("about")
    assert chat.key == "callback.code_word"
    chat.send("sunflower")
    chat.send("skip")  # quiet word
    chat.send("skip")  # name
    chat.pick("english")
    chat.pick("either")
    chat.pick("none")
    chat.pick("southend")
    assert chat.key == "callback.summary"
    assert "sunflower" not in chat.last[-1].sms
    assert "We have your code word." in chat.last[-1].sms
    chat.pick("change")
    chat.pick("safety")  # the triage answers can be changed too
    assert chat.key == "triage.me_strangled"
    chat.pick("yes")
    chat.pick("skip_all")
    assert chat.key == "callback.summary"
    chat.pick("change")
    chat.pick("reach")
    give_number(chat)
    chat.pick("asap")
    assert chat.key == "callback.summary"
    chat.pick("looks_right")
    [request] = requests(chat)
    assert details(chat, request)["code_word"] == "sunflower"
    assert "name" not in details(chat, request)
    assert request.handler_gender == "either" and request.area == "southend"
    assert request.triage == ["strangled"] and request.asap is True


def test_a_safe_number_full_of_999_is_a_number_not_an_emergency(engine) -> None:  # noqa: ANN001
    chat = Chat(engine, channel="telegram", address="123458", phone=False)
    chat.start("me")
    open_callback(chat)
    for typed in ("07999 999 999", "+44 7999 999999"):
        replies = chat.send(typed)
        assert [r.key for r in replies] in (["callback.when"], ["callback.number_confirm"])
        if chat.key == "callback.number_confirm":
            chat.pick("yes")
        assert chat.key == "callback.when"
        chat.send("back")
        while chat.key != "callback.other_number":
            chat.send("back")
    chat.send("07999 999999")
    chat.pick("asap")
    [request] = requests(chat)
    assert details(chat, request)["phone"] == "+447999999999"
    assert "danger_now" not in request.safety_flags


def test_someone_else_triage_is_about_the_friend_and_a_weapon_is_urgent(chat: Chat) -> None:
    chat.start("someone_else")
    open_callback(chat)
    give_number(chat)
    chat.pick("asap")
    assert chat.key == "triage.someone_else_hurt"
    assert chat.last[-1].sms.startswith("Do you think they could be seriously hurt?")
    asked, reminded = [], []
    while chat.key.startswith("triage."):
        asked.append(chat.key)
        replies = chat.pick("yes" if chat.key.endswith("weapon") else "no")
        reminded += [r.key for r in replies if r.key.startswith("callback.urgent")]
    assert reminded == ["callback.urgent_reminder_other"]
    assert asked == [
        "triage.someone_else_hurt",
        "triage.someone_else_strangled",
        "triage.someone_else_threats_to_kill",
        "triage.someone_else_weapon",
    ]
    [request] = requests(chat)
    assert request.triage == ["weapon"] and request.route == "someone_else"
    assert request.priority >= chat.engine.settings.urgent_priority


def test_own_behaviour_triage_asks_about_partner_children_and_orders(chat: Chat) -> None:
    chat.start("own_behaviour")
    open_callback(chat)
    give_number(chat)
    chat.pick("asap")
    asked = []
    while chat.key.startswith("triage."):
        asked.append(chat.key)
        chat.pick("yes" if chat.key.endswith("orders") else "no")
    assert asked == [
        "triage.own_behaviour_strangled",
        "triage.own_behaviour_threats_to_kill",
        "triage.own_behaviour_weapon",
        "triage.own_behaviour_children",
        "triage.own_behaviour_orders",
    ]
    chat.pick("send")
    chat.pick("looks_right")
    [request] = requests(chat)
    assert request.route == "own_behaviour" and request.triage == ["orders"]
    assert 0 < request.priority < chat.engine.settings.urgent_priority


def test_own_behaviour_strangulation_is_urgent_on_its_own(chat: Chat) -> None:
    chat.start("own_behaviour")
    open_callback(chat)
    give_number(chat)
    chat.pick("asap")
    replies = chat.pick("yes")
    assert replies[0].key == "callback.urgent_reminder_other"
    [request] = requests(chat)
    assert request.priority >= chat.engine.settings.urgent_priority


def test_professional_triage_is_about_the_person_referred(chat: Chat) -> None:
    chat.start("professional")
    open_callback(chat)
    give_number(chat)
    chat.pick("asap")
    assert chat.key == "triage.professional_strangled"
    assert "the person you are referring" in chat.last[-1].sms
    chat.pick("yes")
    chat.pick("skip_all")
    chat.pick("more")
    for _ in range(4):  # voicemail to someone else answers
        chat.send("skip")
    chat.send("skip")  # code word (no quiet word for a professional)
    assert chat.key == "callback.name"
    for _ in range(5):  # name to area
        chat.send("skip")
    chat.send("skip")  # note
    assert chat.key == "callback.summary"
    chat.pick("looks_right")
    [request] = requests(chat)
    assert request.route == "professional" and request.area is None
    assert request.triage == ["strangled"]
    assert request.priority >= chat.engine.settings.urgent_priority


def test_refusing_consent_keeps_nothing(chat: Chat) -> None:
    chat.start("me")
    to_callback(chat)
    chat.pick("no")
    assert chat.key == "callback.declined"
    assert requests(chat) == []
    chat.pick("ask_call")
    assert chat.key == "callback.consent"


def test_no_safe_number_points_to_helplines(chat: Chat) -> None:
    chat.start("me")
    open_callback(chat)
    if chat.key == "callback.number_check":
        chat.pick("none")
    else:
        chat.send("skip")
    assert chat.key == "callback.no_number"
    assert "0808 2000 247" in chat.last[-1].sms
    assert requests(chat) == []


def test_an_old_button_after_confirming_never_shows_an_empty_reference(chat: Chat) -> None:
    reference = make_request(chat)
    for old in ("looks_right", "change", "yes"):  # buttons of earlier questions
        replies = chat.send("", choice=old)
        shown = " ".join(r.sms for r in replies)
        assert "reference is ." not in shown and "reference is  " not in shown
        if any(r.key == "callback.confirmed" for r in replies):
            assert reference in shown
    [request] = requests(chat)
    assert request.reference == reference


def test_under_16_gets_no_adult_callback(chat: Chat) -> None:
    chat.start("me")
    set_slot(chat, "age_group", "under_16")
    to_callback(chat)
    assert not chat.key.startswith(("callback.", "triage."))
    assert requests(chat) == []


def test_16_or_17_gets_young_wording_and_no_pregnancy_question(chat: Chat) -> None:
    chat.start("me")
    set_slot(chat, "age_group", "16_17")
    to_callback(chat)
    assert chat.key == "callback.consent_young" and "16 or 17" in chat.last[-1].sms
    assert "up to 19 short questions" in chat.last[-1].sms
    callback_answers(chat)
    asked = triage_asked(chat)
    assert "triage.me_pregnant" not in asked and len(asked) == 4


def test_a_typed_day_and_time_is_understood_at_the_first_timing_question(chat: Chat) -> None:
    chat.start("me")
    open_callback(chat)
    give_number(chat)
    assert chat.key == "callback.when"
    chat.send("tuesday after 2")
    assert chat.key.startswith("triage.")
    [request] = requests(chat)
    assert request.asap is False
    assert request.safe_windows == [{"day": "tue", "start": "14:00", "end": "17:00"}]
    chat.pick("skip_all")
    chat.pick("send")
    chat.pick("change")
    chat.pick("reach")
    give_number(chat)
    chat.send("fri")  # a day alone: which time of day?
    assert chat.key == "callback.window"
    chat.pick("morning")
    assert chat.key == "callback.summary"
    assert requests(chat)[0].safe_windows == [{"day": "fri", "start": "09:00", "end": "12:00"}]
    chat.pick("change")
    chat.pick("reach")
    give_number(chat)
    chat.send("as soon as possible")  # never read as days
    assert chat.key == "callback.summary" and requests(chat)[0].asap is True


def test_confirmation_outside_callback_hours_points_to_the_24_hour_helpline(chat: Chat) -> None:
    chat.now = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)  # a Saturday night
    make_request(chat)
    said = [r.key for r in chat.last]
    assert said[-2:] == ["callback.closed_now", "callback.confirmed"]
    closed = chat.last[-2].sms
    assert "0808 2000 247" in closed and "24-hour" in closed and "999" in closed


def test_confirmation_inside_callback_hours_does_not(engine) -> None:  # noqa: ANN001
    chat = Chat(engine, address="+447700900124")
    chat.now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday morning
    make_request(chat)
    said = [r.key for r in chat.last]
    assert said[-1] == "callback.confirmed" and "callback.closed_now" not in said


def make_request(chat: Chat) -> str:
    """The shortest request: skip everything optional, confirm at the summary."""
    chat.start("me")
    open_callback(chat)
    give_number(chat)
    chat.pick("asap")
    chat.pick("skip_all")
    chat.pick("send")
    chat.pick("looks_right")
    assert chat.key == "callback.confirmed"
    return requests(chat)[0].reference


def test_returning_person_sees_status_changes_times_and_cancels(chat: Chat) -> None:
    reference = make_request(chat)
    [offer] = [r for r in chat.last if r.key == "my_request.pin"]  # no code word: a PIN
    pin = re.findall(r"\b\d{4}\b", offer.sms)[0]
    chat.send("exit")
    chat.send("hi")
    chat.pick("yes")
    assert chat.key == "who.ask"  # the greeting never opens the request
    assert [r.key for r in chat.send("my request")] == ["my_request.ask_word"]
    chat.send(pin)
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
    chat.send("status")
    chat.send(pin)
    chat.pick("cancel")
    assert chat.key == "my_request.confirm_cancel"  # asked once, in neutral words
    replies = chat.pick("yes")
    assert replies[-1].key == "my_request.cancelled"
    assert requests(chat)[0].status == "cancelled"
    chat.send("exit")
    chat.send("my request")
    assert chat.keys(pin) == ["my_request.no_match"]  # nothing open any more


def test_carrier_opt_out_words_are_not_the_bots_commands(chat: Chat) -> None:
    reference = make_request(chat)
    assert reference
    for word in ("STOP", "END", "QUIT", "UNSUBSCRIBE", "STOPALL"):
        assert chat.engine.words.command(word.lower()) is None
    # A bare CANCEL never reaches the engine on SMS (bot/channels/sms/keywords.py);
    # elsewhere, and with more words ("cancel my call"), it opens the code-word gate.
    assert chat.engine.words.command("cancel my call") == "my_request"
    options = chat.engine.content.entry("my_request.status").options
    for option in options:
        assert option.label.upper() not in {"STOP", "CANCEL", "END", "QUIT"}
