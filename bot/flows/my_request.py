"""My request: a returning person sees their callback request's status, changes
the safe times, or cancels the call, each in one short step.

Offered right after the safety check when the person has an open request.
The words used are the bot's own ("Cancel the call"), never the carrier's
bare opt-out words (STOP, CANCEL, END, QUIT, UNSUBSCRIBE, STOPALL).
"""

from __future__ import annotations

from typing import Any

from bot.content.model import Content
from bot.dialogue import Dialogue
from bot.flows.base import Choice, Flow
from bot.flows.safe_times import Hours, describe, time_steps


def _has_request(d: Dialogue) -> bool:
    return d.requests.open_request() is not None


def _status_params(content: Content):  # noqa: ANN202
    def params(d: Dialogue) -> dict[str, Any]:
        request = d.requests.open_request() or {}
        return {
            "reference": request.get("reference", ""),
            "status": content.text(f"my_request.status_{request.get('status', 'open')}", d.locale),
            "when": describe(
                content, request.get("safe_windows", []), request.get("asap", True), d.locale
            ),
        }

    return params


def _cancel(d: Dialogue, option: str) -> None:
    if option == "cancel":
        d.requests.cancel()


def _save_times(d: Dialogue) -> None:
    d.requests.change_times(d.answers.get("asap", True), d.answers.get("windows", []))
    d.answers.clear()


def build(content: Content) -> Flow:
    hours = Hours(content.data.get("service", {}))
    return Flow(
        "my_request",
        [
            Choice(
                "status",
                "my_request.status",
                applies=_has_request,
                passes_to="none",
                params=_status_params(content),
                routes={"change_times": "when", "cancel": "cancelled", "something_else": "@who"},
                on_pick=_cancel,
            ),
            *time_steps(content, hours, then="times_saved"),
            Choice(
                "times_saved",
                "my_request.times_saved",
                on_arrive=_save_times,
                params=lambda d: {
                    "when": describe(
                        content,
                        (d.requests.open_request() or {}).get("safe_windows", []),
                        (d.requests.open_request() or {}).get("asap", True),
                        d.locale,
                    )
                },
                routes={"main_menu": "@menu"},
            ),
            Choice("cancelled", "my_request.cancelled", routes={"main_menu": "@menu"}),
            Choice("none", "my_request.none", routes={"main_menu": "@menu"}),
        ],
    )
