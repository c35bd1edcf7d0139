"""Text helpers shared by the engine, the content check and the channels.

`normalise` makes what a person typed comparable with content words (case,
stray spaces, punctuation, curly quotes, control characters). `sms_segments`
counts segments with a real GSM 03.38 codec so budgets match what carriers bill.
"""

from __future__ import annotations

import re
import unicodedata

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_GSM_PLAIN = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
        "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ", "\u202f": " ", "\u2009": " ",
    }
)


def babel_locale(locale: str) -> str:
    """The locale Babel should format dates in: English here means British English."""
    return "en_GB" if locale == "en" else locale


def clean_free_text(text: str, limit: int) -> str:
    """Keep what a person typed, minus control characters and outer spaces."""
    kept = "".join(
        ch if unicodedata.category(ch)[0] != "C" else " " for ch in unicodedata.normalize("NFC", text)
    )
    return re.sub(r"\s+", " ", kept).strip()[:limit]


def normalise(text: str) -> str:
    """Lower-case words separated by single spaces, without punctuation.

    Apostrophes are dropped so "he's" and "hes" compare equal; other
    punctuation becomes a space. Letters of every script are kept.
    """
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    text = text.replace("'", "")
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        out.append(ch if cat[0] in "LN" or cat == "Mn" or cat == "Mc" else " ")
    return " ".join("".join(out).split())


def to_gsm_plain(text: str) -> str:
    """Swap typographic characters for their plain GSM-7 equivalents."""
    return text.translate(_GSM_PLAIN)


def is_gsm7(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def sms_segments(text: str) -> tuple[str, int]:
    """Return the encoding ("GSM-7" or "UCS-2") and the number of segments."""
    if is_gsm7(text):
        septets = len(text.encode("gsm03.38"))
        return "GSM-7", 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else -(-units // 67)
