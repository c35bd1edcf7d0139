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
from bot.flows.safe_times import Hours, _clock, _day_names, describe, opening_hours, time_steps

NAME = "live_chat"
CHATTING = "waiting"  # the state a person is in while their chat waits or is open
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


def stepping_back(d: Dialogue) -> bool:
    """True while the person is in a chat: the engine hands the message to `turn`."""
    return d.flow == NAME and d.state == CHATTING and d.chats is not None


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
    told = d.slots.setdefault(NAME, {})
    if live == "waiting" and not told.get("_told"):
        told["_told"] = True
        d.say("live_chat.received")
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
                {"day": _day_names(d.locale)[day], "time": _clock(at, d.locale)},
            )
        return {"hours": opening_hours(content, hours, d.locale), "next": following}

    return params


def _start(d: Dialogue) -> None:
    assert d.chats is not None
    d.answers.clear()
    d.chats.start(d.locale, d.safety_codes)


def _leave(content: Content, hours: Hours):  # noqa: ANN202
    every_day = hours.open_days

    def leave(d: Dialogue) -> None:
        assert d.chats is not None
        a = d.answers
        asap = a.get("asap", True) or not a.get("windows")
        windows = hours.windows_for(every_day, "any") if asap else a["windows"]
        d.chats.leave_message(a.get("message") or "", windows, d.locale, d.safety_codes)
        a["_when"] = describe(content, a.get("windows", []), asap, d.locale)

    return leave


def _forget(d: Dialogue) -> None:
    """A message left is kept sealed for the worker; the conversation keeps nothing."""
    d.answers.clear()


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
            "left",
            "live_chat.left",
            on_arrive=_leave(content, hours),
            routes={"main_menu": "@menu"},
            params=lambda d: {"when": d.answers.get("_when", "")},
            after_prompt=_forget,
        ),
        Choice("not_safe", "live_chat.not_safe", routes={"main_menu": "@menu"}),
    ]
    return Flow(NAME, steps, initial="in_hours")
