"""The safety screen: reads every message first, in every language.

See content/safety/README.md for what it recognises and how patterns are
written; `frontdoor safety train|eval` build and measure it.
"""

from bot.safety.patterns import INDICATORS, SIGNALS
from bot.safety.screen import NOTHING, SafetyScreen, Screening, Signal, shared_screen

__all__ = [
    "INDICATORS",
    "NOTHING",
    "SIGNALS",
    "SafetyScreen",
    "Screening",
    "Signal",
    "shared_screen",
]
