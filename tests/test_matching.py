"""How typed answers are matched to options."""

from __future__ import annotations

from bot.matching import match_option, option_number, word_forms

YES_NO = word_forms({"yes": ["Yes", "y", "yeah"], "no": ["No", "n", "nope"]})
SAFE = word_forms({"yes": ["Yes, it's safe", "yes"], "not_now": ["Not now", "later"]})


def test_numbers() -> None:
    assert option_number("2") == 2 and option_number(" 2. ") == 2 and option_number("#3") == 3
    assert option_number("-1") is None and option_number("2 please") is None
    assert option_number("１") == 1  # full-width digits from some keyboards


def test_labels_synonyms_and_whole_words_inside_a_reply() -> None:
    assert match_option("YES!", YES_NO) == "yes"
    assert match_option("yes pls", YES_NO) == "yes"
    assert match_option("nope", YES_NO) == "no"
    assert match_option("yes its safe", SAFE) == "yes"


def test_close_spellings() -> None:
    assert match_option("Yse", YES_NO) == "yes"
    assert match_option("ltaer", SAFE) == "not_now"


def test_unclear_replies_are_not_guessed() -> None:
    assert match_option("yes no", YES_NO) is None
    assert match_option("banana", YES_NO) is None
    assert match_option("", YES_NO) is None
