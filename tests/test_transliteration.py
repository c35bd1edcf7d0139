"""Dropping accents for GSM-7 never makes a listed word (Turkish "sık" -> "sik")."""

from __future__ import annotations

import pytest

from bot.channels.render import sms_text
from bot.content.model import load_content
from bot.content.transliteration import hazards, shipped_lists
from bot.settings import Settings
from bot.text import sms_segments, strip_accents, to_gsm_plain
from bot.types import Option, Reply


@pytest.fixture(scope="module")
def content():  # noqa: ANN201
    settings = Settings(frontdoor_secret="x")
    return load_content(settings.content_dir, settings.locales_dir)


def test_harmless_accents_are_still_dropped() -> None:
    assert to_gsm_plain("Zadzwoń, jeśli możesz") == "Zadzwon, jesli mozesz"
    assert to_gsm_plain("Sună acum, dacă poți") == "Suna acum, daca poti"


@pytest.mark.parametrize(
    "text",
    ["Daha sık mı oluyor?", "Telefonu sıkı kontrol ediyor", "Çok şık", "Nie rób mi łaski"],
)
def test_a_text_that_would_read_as_a_listed_word_keeps_its_spelling(text: str) -> None:
    assert to_gsm_plain(text) == text
    assert sms_segments(to_gsm_plain(text))[0] == "UCS-2"


def test_a_listed_word_written_on_purpose_is_not_touched() -> None:
    assert to_gsm_plain("Sikke ve łódź") == "Sikke ve lodz"


def test_options_lines_are_guarded_too() -> None:
    reply = Reply("x", "Seç:", "Seç:", "tr", (Option("a", "Sık sık"), Option("b", "Hayır")))
    assert "Sık sık" in sms_text(reply)


def test_the_shipped_list_names_turkish_polish_and_romanian() -> None:
    lists = shipped_lists()
    assert lists["tr"].why("sikinti") and lists["tr"].why("sik")
    assert lists["pl"].why("laske") and not lists["pl"].why("las")
    assert lists["ro"].why("fata")


def test_no_shipped_translation_is_sent_with_a_listed_word(content) -> None:  # noqa: ANN001
    lists = shipped_lists()
    found = []
    for locale, catalog in content.catalogs.items():
        if locale not in lists:
            continue
        for (context, _english), text in catalog.items():
            if context and context.rsplit(":", 1)[-1] in ("sms", "label", "data"):
                found += [(locale, context, w) for w in hazards(text, strip_accents, lists)]
    assert found == []


def test_the_turkish_texts_the_review_found_are_reworded(content) -> None:  # noqa: ANN001
    sms = content.reply("helping.signs", "tr").sms
    assert "sik" not in sms.casefold().split()
    assert "sürekli" in content.text("helping.signs", "tr")
