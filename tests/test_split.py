"""Long texts are cut where a reader expects, and nothing is lost."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.render import split_to_fit


def test_cuts_at_line_breaks_first_then_spaces_then_inside_a_word() -> None:
    fits = lambda piece: len(piece) <= 10  # noqa: E731
    assert split_to_fit("short", fits) == ["short"]
    assert split_to_fit("one two\nthree four", fits) == ["one two", "three four"]
    assert split_to_fit("aaaa bbbb cccc", fits) == ["aaaa bbbb", "cccc"]
    assert split_to_fit("x" * 25, fits) == ["x" * 10, "x" * 10, "x" * 5]


@given(st.text(alphabet="ab \n", max_size=300), st.integers(min_value=1, max_value=40))
def test_every_piece_fits_and_no_word_is_lost(text: str, limit: int) -> None:
    pieces = split_to_fit(text, lambda piece: len(piece) <= limit)
    assert all(len(piece) <= limit for piece in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())
