"""My request: a returning person sees their callback request's status, changes
the safe times, or cancels the call, but only after giving its code word (or
the PIN offered to someone who chose none).

Reached from any state by the words in `words.my_request` ("my request",
"status", "cancel my call", "cancel FD-7KQ2"), never from the greeting: the
phone may be in someone else's hands. Until the right word, every reply is
the same whether or not a request exists. From a new number the person types
the reference and the code word; such a request can be cancelled, not changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.content.model import Content
from bot.dialogue import Dialogue
from bot.flows.base import Ask, Choice, Flow, Parsed
from bot.flows.safe_times import Hours, describe, time_steps
from bot.global_words import split_reference

NAME = "my_request"
OPEN_FOR = timedelta(minutes=10)  # an opened request closes again after this


def begin(d: Dialogue, reference: str | None) -> None:
    """Start afresh at the gate, remembering a reference the person typed."""
    d.forget_flow(NAME)
    d.slots[NAME] = {"reference": reference} if reference else {}


def _close(d: Dialogue) -> None:
    for key in ("opened", "opened_at", "cancel_done"):
        d.answers.pop(key, None)


def _opened(d: Dialogue) -> dict[str, Any] | None:
    """The request the gate opened, while it is fresh and still open."""
    reference, at = d.answers.get("opened"), d.answers.get("opened_at")
    if not reference or not at or d.access is None:
        return None
    if d.facts.now - datetime.fromisoformat(at) > OPEN_FOR:
        return None
    return d.access.status(reference)


def _check_word(content: Content):  # noqa: ANN202
    prefix = str(content.data.get("service", {}).get("reference_prefix", "FD"))

    def parse(d: Dialogue, text: str) -> Parsed:
        reference, word = split_reference(text, prefix)
        if reference:
            d.answers["reference"] = reference
        if not word:
            key = "my_request.word_after_reference" if reference else "my_request.ask_word"
            return Parsed(error=key)
        if d.access is None:
            return Parsed(error="my_request.try_later")
        attempt = d.access.try_word(word, d.answers.get("reference"))
        if attempt.outcome == "opened":
            d.answers["opened_at"] = d.facts.now.isoformat()
            return Parsed(value=attempt.reference)
        return Parsed(
            error=f"my_request.{'no_match' if attempt.outcome == 'wrong' else 'try_later'}"
        )

    return parse


def _status_params(content: Content):  # noqa: ANN202
    def params(d: Dialogue) -> dict[str, Any]:
        request = _opened(d) or {}
        return {
            "reference": request.get("reference", ""),
            "status": content.text(f"my_request.status_{request.get('status', 'open')}", d.locale),
            "when": describe(
                content, request.get("safe_windows", []), request.get("asap", True), d.locale
            ),
        }

    return params


def _choices(d: Dialogue) -> list[str]:
    """A request opened from another number can be cancelled, not changed."""
    own = (_opened(d) or {}).get("own")
    return ["change_times", "cancel", "something_else"] if own else ["cancel", "something_else"]


def _leave(d: Dialogue, option: str) -> None:
    if option == "something_else":
        _close(d)


def _confirm_cancel(d: Dialogue, option: str) -> None:
    """Cancel the opened request on "yes", if it is still open and fresh."""
    opened = _opened(d) if option == "yes" else None
    done = opened is not None and d.access is not None and d.access.cancel(opened["reference"])
    d.answers["cancel_done"] = done


def _save_times(d: Dialogue) -> None:
    opened = _opened(d)
    if opened and opened.get("own"):
        d.requests.change_times(d.answers.get("asap", True), d.answers.get("windows", []))


def _saved_params(content: Content):  # noqa: ANN202
    def params(d: Dialogue) -> dict[str, Any]:
        opened = _opened(d) or {}
        when = describe(content, opened.get("safe_windows", []), opened.get("asap", True), d.locale)
        return {"when": when}

    return params


def build(content: Content) -> Flow:
    hours = Hours(content.data.get("service", {}))
    return Flow(
        NAME,
        [
            Ask(
                "ask",
                "my_request.ask_word",
                slot="opened",
                on_arrive=_close,
                parse=_check_word(content),
                # A PIN such as "12 13" may read as an age to the safety screen:
                # its reply comes first, and the word is still tried.
                keeps_disclosure=True,
                then="status",
            ),
            Choice(
                "status",
                "my_request.status",
                applies=lambda d: _opened(d) is not None,
                passes_to="ask",
                params=_status_params(content),
                shown=_choices,
                routes={
                    "change_times": "when",
                    "cancel": "confirm_cancel",
                    "something_else": "@who",
                },
                on_pick=_leave,
            ),
            Choice(
                "confirm_cancel",
                "my_request.confirm_cancel",
                applies=lambda d: _opened(d) is not None,
                passes_to="ask",
                routes={
                    "yes": [
                        (lambda d: bool(d.answers.get("cancel_done")), "cancelled"),
                        (None, "ask"),
                    ],
                    "no": "status",
                },
                on_pick=_confirm_cancel,
            ),
            *time_steps(content, hours, then="times_saved"),
            Choice(
                "times_saved",
                "my_request.times_saved",
                on_arrive=_save_times,
                applies=lambda d: _opened(d) is not None,
                passes_to="ask",
                params=_saved_params(content),
                after_prompt=_close,  # saved: the request closes behind the person
                routes={"main_menu": "@menu"},
            ),
            Choice(
                "cancelled",
                "my_request.cancelled",
                on_arrive=_close,
                routes={"main_menu": "@menu"},
            ),
        ],
        initial="ask",
    )
