"""`normalise` answers ASCII text by a quicker road (bot/text.py); it must be the same answer."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text import _normalise_ascii, _normalise_unicode, normalise

ASCII = st.text(alphabet=st.characters(max_codepoint=127), max_size=60)
WORDY = st.text(alphabet=string.ascii_letters + string.digits + " '`.,!?-_\t\n", max_size=60)


@settings(max_examples=2000)
@given(ASCII)
def test_ascii_text_is_normalised_as_any_text_would_be(text: str) -> None:
    assert _normalise_ascii(text) == _normalise_unicode(text)


@settings(max_examples=2000)
@given(WORDY)
def test_typed_words_are_normalised_as_any_text_would_be(text: str) -> None:
    assert _normalise_ascii(text) == _normalise_unicode(text)


def test_normalise_reads_what_people_type() -> None:
    assert normalise("He's  HERE!!") == "hes here"
    assert normalise("`quoted`\tand\nmore ") == "quoted and more"
    assert normalise("wyjdź TERAZ") == "wyjdz teraz"  # not ASCII: the long road
    assert normalise("...") == ""
