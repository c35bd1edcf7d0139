"""Text helpers shared by the engine, the content check and the channels.

`normalise` makes what a person typed comparable with content words (case,
stray spaces, punctuation, curly quotes, control characters). `sms_segments`
counts segments with a real GSM 03.38 codec so budgets match what carriers bill.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from bot.content.transliteration import hazards, shipped_lists

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
# In ASCII, only letters and digits are of the categories `normalise` keeps (L, N, Mc).
_ASCII_APART = re.compile(r"[^a-z0-9]+")
_LATIN_EXTRA = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "đ": "d", "Đ": "D", "ı": "i"})
_GSM_PLAIN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
    }
)


def babel_locale(locale: str) -> str:
    """The locale Babel should format dates in: English here means British English."""
    return "en_GB" if locale == "en" else locale


def clean_free_text(text: str, limit: int) -> str:
    """Keep what a person typed, minus control characters and outer spaces."""
    kept = "".join(
        ch if unicodedata.category(ch)[0] != "C" else " "
        for ch in unicodedata.normalize("NFC", text)
    )
    return re.sub(r"\s+", " ", kept).strip()[:limit]


def normalise(text: str) -> str:
    """Lower-case words separated by single spaces, without punctuation or accents.

    Apostrophes are dropped so "he's" and "hes" compare equal; other
    punctuation becomes a space; accents go, so "wyjdz" matches "wyjdź".
    Letters of every script are kept.
    """
    if text.isascii():  # most messages: the same result without reading each character
        return _normalise_ascii(text)
    return _normalise_unicode(text)


def _normalise_unicode(text: str) -> str:
    """`normalise` for any text, a character at a time."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()
    text = unicodedata.normalize("NFKD", text.replace("'", "").translate(_LATIN_EXTRA))
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Mn":
            continue
        out.append(ch if cat[0] in "LN" or cat == "Mc" else " ")
    return unicodedata.normalize("NFC", " ".join("".join(out).split()))


def _normalise_ascii(text: str) -> str:
    """`normalise` for ASCII text, where Unicode forms change nothing and only
    letters and digits are kept (tests/test_text.py holds the two to one answer)."""
    return _ASCII_APART.sub(" ", text.replace("'", "").replace("`", "").lower()).strip(" ")


def to_gsm_plain(text: str) -> str:
    """Swap typographic characters for plain GSM-7 ones; drop accents GSM-7 lacks.

    Latin-script text (Polish, Romanian, Lithuanian...) then travels as GSM-7,
    as SMS services in those languages commonly send it, at twice the
    characters per segment of UCS-2. Text in other scripts is left whole, and
    so is a text that would turn a word into one listed in
    content/data/transliteration.yaml (Turkish "sık" must never read "sik").
    """
    text = text.translate(_GSM_PLAIN)
    if is_gsm7(text):
        return text
    plain = strip_accents(text)
    if not is_gsm7(plain) or hazards(text, strip_accents, shipped_lists()):
        return text
    return plain


def strip_accents(text: str) -> str:
    """Each character GSM-7 lacks, without its accents where that makes it GSM-7."""
    return "".join(ch if ch in GSM7_CHARS else _bare(ch) for ch in text)


@lru_cache(maxsize=4096)
def _bare(ch: str) -> str:
    bare = "".join(
        c
        for c in unicodedata.normalize("NFKD", ch.translate(_LATIN_EXTRA))
        if not unicodedata.combining(c)
    )
    return bare if bare and is_gsm7(bare) else ch


def _gsm_tables() -> tuple[frozenset[str], frozenset[str]]:
    """Every character GSM 03.38 can carry, and those that take two septets.

    Read once from the codec, so per-message checks are set look-ups rather
    than the codec's character-by-character encoding.
    """
    single: set[str] = set()
    double: set[str] = set()
    for code in range(0x2200):  # GSM 03.38 has nothing above U+20AC
        ch = chr(code)
        try:
            size = len(ch.encode("gsm03.38"))
        except UnicodeEncodeError:
            continue
        (single if size == 1 else double).add(ch)
    return frozenset(single | double), frozenset(double)


GSM7_CHARS, GSM7_EXTENDED = _gsm_tables()


def is_gsm7(text: str) -> bool:
    return GSM7_CHARS.issuperset(text)


def sms_segments(text: str) -> tuple[str, int]:
    """Return the encoding ("GSM-7" or "UCS-2") and the number of segments."""
    if is_gsm7(text):
        septets = len(text) + sum(1 for ch in text if ch in GSM7_EXTENDED)
        return "GSM-7", 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return "UCS-2", 1 if units <= 70 else -(-units // 67)
