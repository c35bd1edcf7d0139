"""The carriers' opt-out words, which belong to the SMS channel, not to the bot.

US and UK carriers and Twilio's Advanced Opt-Out treat these words, sent as
the whole message, as "stop texting me" and "you may text me again". They are
matched before the engine sees a message, so they never become the bot's own
commands (HELP and INFO are the engine's help word and are left to it).
"""

from __future__ import annotations

from typing import Literal

from bot.text import normalise

OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
OPT_IN_WORDS = frozenset({"start", "unstop", "yes"})

Keyword = Literal["opt_out", "opt_in"]


def carrier_keyword(body: str) -> Keyword | None:
    """ "opt_out" or "opt_in" when the whole message is one of the carrier words.

    Any case and stray spaces or punctuation count ("Stop.", " STOP "); a word
    inside a longer message does not ("please don't stop").
    """
    said = normalise(body)
    if said in OPT_OUT_WORDS:
        return "opt_out"
    if said in OPT_IN_WORDS:
        return "opt_in"
    return None
