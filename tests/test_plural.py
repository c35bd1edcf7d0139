"""Counts follow each language's plural rules: "28 de zile", "21 diena", "5 днів"."""

from __future__ import annotations

import pytest

from bot.content import plural
from bot.content.model import load_content
from bot.settings import Settings

COUNTS = (1, 2, 5, 20, 21, 28, 101)
EXPECTED = {
    "en": ("1 day", "2 days", "5 days", "20 days", "21 days", "28 days", "101 days"),
    "ro": ("1 zi", "2 zile", "5 zile", "20 de zile", "21 de zile", "28 de zile", "101 zile"),
    "pl": ("1 dzień", "2 dni", "5 dni", "20 dni", "21 dni", "28 dni", "101 dni"),
    "lt": ("1 diena", "2 dienos", "5 dienos", "20 dienų", "21 diena", "28 dienos", "101 diena"),
    "uk": ("1 день", "2 дні", "5 днів", "20 днів", "21 день", "28 днів", "101 день"),
    "ar": ("يوم واحد", "يومان", "5 أيام", "20 يومًا", "21 يومًا", "28 يومًا", "101 يوم"),
}


@pytest.fixture(scope="module")
def content():  # noqa: ANN201
    settings = Settings(frontdoor_secret="x")
    return load_content(settings.content_dir, settings.locales_dir)


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_days_are_counted_in_the_language_grammar(content, locale: str) -> None:  # noqa: ANN001
    assert tuple(content.counted("words.days", n, locale) for n in COUNTS) == EXPECTED[locale]


def test_every_shipped_language_has_its_forms_for_days(content) -> None:  # noqa: ANN001
    english = content.entry("words.days").sms
    for locale in Settings(frontdoor_secret="x").locales:
        translated = content.translate(locale, "words.days:sms", english)
        assert plural.problems(translated, locale) == [], locale


def test_an_exact_number_wins_over_its_category() -> None:
    text = "{n, plural, =0 {no days} one {# day} other {# days}}"
    assert [plural.render(text, {"n": n}, "en") for n in (0, 1, 3)] == [
        "no days",
        "1 day",
        "3 days",
    ]


def test_a_block_inside_a_sentence_keeps_the_rest(content) -> None:  # noqa: ANN001
    text = "Keep {days, plural, one {# day} other {# days}} for {name}."
    assert content.fill(text, {"days": 28, "name": "x"}) == "Keep 28 days for x."


def test_a_value_that_is_not_a_number_takes_the_other_form() -> None:
    assert (
        plural.render("{n, plural, one {# zi} other {# de zile}}", {"n": "x"}, "ro") == "x de zile"
    )


def test_a_broken_block_is_left_as_written_and_reported() -> None:
    broken = "{n, plural, one {# zi} other {# de zile}"
    assert plural.render(broken, {"n": 3}, "ro") == broken
    assert plural.problems(broken, "ro") != []


def test_romanian_needs_the_de_form_and_arabic_six() -> None:
    assert plural.needed("ro") == {"one", "few", "other"}
    assert plural.needed("ar") == {"zero", "one", "two", "few", "many", "other"}


def _day_counts(content) -> list[str]:  # noqa: ANN001
    """Every entry that says a number of days: "{days} days" or a block over days."""
    return [
        key
        for key, entry in content.entries.items()
        if "days" in entry.params and ("{days} days" in entry.sms or "{days, plural" in entry.sms)
    ]


@pytest.mark.parametrize("locale", ["ro", "pl", "lt", "uk", "ar"])
def test_every_count_of_days_is_a_plural_block_where_grammar_needs_it(content, locale: str) -> None:  # noqa: ANN001
    keys = _day_counts(content)
    assert keys, "no text counts days any more: this test has nothing to hold"
    for key in keys:
        translated = content.translate(locale, f"{key}:sms", content.entry(key).sms)
        if translated != content.entry(key).sms:  # untranslated: the content check says so
            assert "{days, plural," in translated, (locale, key)


def test_romanian_keeps_28_de_zile_wherever_days_are_counted(content) -> None:  # noqa: ANN001
    said = {}
    for key in _day_counts(content):
        params = {name: 12 for name in content.entry(key).params}
        said[key] = [content.text(key, "ro", {**params, "days": n}) for n in (2, 28, 101)]
    translated = {k: v for k, v in said.items() if "zile" in v[0]}
    assert translated, said
    for two, twenty_eight, hundred_one in translated.values():
        assert "2 zile" in two and "28 de zile" in twenty_eight and "101 zile" in hundred_one
