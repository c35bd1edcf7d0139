"""Texting with a worker: a live chat in staffed hours, a message left out of hours.

In staffed chat hours (content/data/chat_hours.yaml) the person hears roughly
how long the wait is now (from the live queue) and that EXIT still ends
everything, and chooses to start. From then on, while the chat waits or is
open, the engine steps back (`turn` below, called from bot/engine.py): what
they type goes to the worker; EXIT ends the chat and everything else; MENU
hands them back to the bot; the safety screen still answers danger, crisis
and child signals, and those codes go on the chat for the worker at once.

Out of hours the person hears when workers are next online, the 24-hour
National Domestic Abuse Helpline and 999, and only if they say texting
later is safe may they leave a message for a worker to answer within the
safe time they give (the callback flow's safe-time questions).

A message left is a conversation too (`LEFT`, `_left_turn`): until a worker
answers, what the person writes from there joins it and they are told so;
MENU hands them back to the bot with the message still waiting; EXIT ends it.
Once a worker has answered, the person's reply reaches that worker from
wherever the bot was (as in an open chat): the engine steps back for it.

Chats are reached through `dialogue.chats` (storage wires it), never storage.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.content.model import Content
from bot.dialogue import Dialogue
from bot.flows import answers
from bot.flows.base import Ask, Choice, Flow, Step
from bot.flows.safe_times import (
    Hours,
    day_names,
    describe,
    opening_hours,
    time_steps,
    time_text,
)
from bot.matching import option_number

NAME = "live_chat"
CHATTING = "waiting"  # the state a person is in while their chat waits or is open
LEFT = "left"  # the state after leaving a message out of hours
LONDON = ZoneInfo("Europe/London")
MESSAGE_LIMIT = 1000


def chat_hours(content: Content) -> Hours:
    """Staffed chat hours, read with the callback hours' reader."""
    data = content.data.get("chat_hours", {})
    return Hours({"callback_hours": data.get("chat_hours", {}), **data})


def next_opening(hours: Hours, now: datetime) -> tuple[int, str] | None:
    """The weekday and local time workers are next online after `now`."""
    local = now.astimezone(LONDON)
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        span = hours.open.get(day.weekday())
        if span is None:
            continue
        if offset == 0 and local.strftime("%H:%M") >= span[0]:
            continue
        return day.weekday(), span[0]
    return None


def stepping_back(d: Dialogue, timed_out: bool = False) -> bool:
    """True while the person is in a chat, or has just left a message that still
    waits, or a worker has answered their message: the engine hands the message
    to `turn`. After the inactivity timeout only if the chat or message is live."""
    chats = d.chats
    if chats is None:
        return False
    if d.flow == NAME and d.state == CHATTING:
        return not timed_out or chats.live() is not None
    if d.flow == NAME and d.state == LEFT:
        return not timed_out or chats.left() is not None
    return chats.left() == "open"


def turn(
    d: Dialogue,
    text: str,
    command: str | None,
    choice: str | None,
    typed: bool,
    codes: list[str],
    replies: list[str],
) -> str | None:
    """One message while the chat waits or is open. `typed`: written, not a
    button or a channel command; `codes` are the safety screen's codes and
    `replies` the content keys it answered (the engine made them in the
    message's language). Returns "exit" or "menu" when the engine must leave
    the chat, else None. Any other word (HELP, LANGUAGE...) is for the worker."""
    chats = d.chats
    assert chats is not None
    if not (d.flow == NAME and d.state == CHATTING):
        d.flow, d.state = NAME, LEFT  # a worker answered the message: from here it is a chat
        return _left_turn(d, text, command, choice, typed, codes, replies)
    if command == "exit":
        chats.end("exit", drop_unsent=True)
        return "exit"
    live = chats.live()
    if live is None:
        d.say("live_chat.ended")
        return "menu"
    if command in ("menu", "back") or choice == "leave":
        chats.end("menu")
        d.say("live_chat.back_to_bot")
        return "menu"
    typed = typed and bool(text.strip())
    if typed:
        chats.write(text, codes)
    if replies:
        d.say("live_chat.signal_seen")
        return None
    if not typed:
        d.say("live_chat.in_chat")
        return None
    notes = d.notes
    if live == "waiting" and not notes.told:
        notes.told = True
        d.say("live_chat.received")
    return None


def _left_turn(
    d: Dialogue,
    text: str,
    command: str | None,
    choice: str | None,
    typed: bool,
    codes: list[str],
    replies: list[str],
) -> str | None:
    """One message after leaving a message for a worker. Until a worker answers,
    a text joins the message and the person hears it will be answered in their
    safe time; MENU leaves the message waiting. Once a worker has answered, it
    is an open chat: the text goes to them, MENU ends it, nothing is said back
    while workers are online. EXIT ends it either way, dropping unsent lines."""
    chats = d.chats
    assert chats is not None
    if command == "exit":
        chats.end_left("exit", drop_unsent=True)
        return "exit"
    left = chats.left()
    if left is None:
        d.say("live_chat.ended")
        return "menu"
    # "1" answers the "message left" prompt's one option (Main menu), as on SMS.
    picked = left == "waiting" and typed and option_number(text) == 1
    if command in ("menu", "back") or choice in ("leave", "main_menu") or picked:
        if left == "open":
            chats.end_left("menu")
            d.say("live_chat.back_to_bot")
        return "menu"
    typed = typed and bool(text.strip())
    if not typed:
        d.say("live_chat.in_chat" if left == "open" else "live_chat.message_waiting")
        return None
    chats.add_to_left(text, codes)
    if left == "waiting" or not chat_hours(d.content).is_open(d.facts.now):
        d.say("live_chat.added")
    elif replies:
        d.say("live_chat.signal_seen")
    return None


def _wait(content: Content):  # noqa: ANN202
    def params(d: Dialogue) -> dict[str, Any]:
        assert d.chats is not None
        queue = d.chats.queue()
        if queue["minutes"]:
            wait = content.text("live_chat.wait_minutes", d.locale, {"minutes": queue["minutes"]})
        elif queue["ahead"]:
            wait = content.text("live_chat.wait_ahead", d.locale, {"ahead": queue["ahead"]})
        else:
            wait = content.text("live_chat.wait_none", d.locale)
        return {"wait": wait}

    return params


def _closed(content: Content, hours: Hours):  # noqa: ANN202
    def params(d: Dialogue) -> dict[str, Any]:
        found = next_opening(hours, d.facts.now)
        following = ""
        if found is not None:
            day, at = found
            following = content.text(
                "live_chat.next_time",
                d.locale,
                {"day": day_names(d.locale)[day], "time": time_text(at, d.locale)},
            )
        return {"hours": opening_hours(content, hours, d.locale), "next": following}

    return params


def _start(d: Dialogue) -> None:
    assert d.chats is not None
    d.clear_answers()
    d.chats.start(d.locale, d.safety_codes)


def _leave(content: Content, hours: Hours):  # noqa: ANN202
    every_day = hours.open_days

    def leave(d: Dialogue) -> None:
        assert d.chats is not None
        a = d.answers
        asap = a.get("asap", True) or not a.get("windows")
        windows = hours.windows_for(every_day, "any") if asap else a["windows"]
        d.chats.leave_message(a.get("message") or "", windows, d.locale, d.safety_codes)
        d.notes.when = describe(content, a.get("windows", []), asap, d.locale)

    return leave


def _forget(d: Dialogue) -> None:
    """A message left is kept sealed for the worker; the conversation keeps nothing."""
    d.clear_answers()


def _available(d: Dialogue) -> bool:
    return d.chats is not None


def build(content: Content) -> Flow:
    hours = chat_hours(content)
    steps: list[Step] = [
        Choice(
            "in_hours",
            "live_chat.in_hours",
            applies=lambda d: _available(d) and hours.is_open(d.facts.now),
            passes_to="closed",
            routes={"start": CHATTING, "main_menu": "@menu"},
            params=_wait(content),
        ),
        Choice(
            CHATTING,
            "live_chat.waiting",
            on_arrive=_start,
            routes={"leave": "@menu"},
        ),
        Choice(
            "closed",
            "live_chat.closed",
            routes={"yes": "when", "no": "not_safe"},
            params=_closed(content, hours),
        ),
        *time_steps(content, hours, then="message", when_key="live_chat.when"),
        Ask(
            "message",
            "live_chat.message",
            slot="message",
            parse=answers.free_text(MESSAGE_LIMIT),
            keeps_disclosure=True,
            skippable=True,
            then="left",
            skip_to="@menu",
        ),
        Choice(
            LEFT,
            "live_chat.left",
            on_arrive=_leave(content, hours),
            routes={"main_menu": "@menu"},
            params=lambda d: {"when": d.notes.when or ""},
            after_prompt=_forget,
        ),
        Choice("not_safe", "live_chat.not_safe", routes={"main_menu": "@menu"}),
    ]
    return Flow(NAME, steps, initial="in_hours")
