"""The content check passes on the shipped content and catches what it promises to."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog as BabelCatalog
from babel.messages.pofile import write_po

from bot.content.check import Checker, check
from bot.content.model import Content, load_content
from bot.settings import PROJECT_ROOT, Settings


def settings_for(content_dir: Path, locales: str = "en") -> Settings:
    return Settings(
        content_dir=content_dir,
        locales_dir=PROJECT_ROOT / "locales",
        shipped_locales=locales,
        frontdoor_secret="x",
    )


def test_shipped_content_and_locales_pass() -> None:
    problems, _unconfirmed, content = check(Settings(frontdoor_secret="x"))
    assert [str(p) for p in problems] == []
    assert len(content.entries) > 100


def test_placeholders_to_confirm_are_listed() -> None:
    _problems, unconfirmed, _content = check(Settings(frontdoor_secret="x"))
    assert any("service.callback_hours" in line for line in unconfirmed)
    assert not any("helplines.ndah" in line for line in unconfirmed)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(PROJECT_ROOT / "content", target)
    return target


def problems_after(copy: Path, file: str, old: str, new: str) -> list[str]:
    path = copy / file
    text = path.read_text()
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1))
    return [str(p) for p in check(settings_for(copy))[0]]


def test_a_non_gsm_character_is_found_with_file_and_line(copy: Path) -> None:
    found = problems_after(
        copy, "flows/who.yaml", "Who would you like help for?", "Who would you like help for? 🙂"
    )
    assert any("flows/who.yaml:2:" in p and "GSM-7" in p for p in found), found


def test_an_sms_over_two_segments_is_found(copy: Path) -> None:
    found = problems_after(
        copy, "flows/who.yaml", "Who would you like help for?", "Who would you like help for? " * 12
    )
    assert any("segments" in p for p in found), found


def test_a_goto_to_nowhere_and_an_unreachable_topic_are_found(copy: Path) -> None:
    text = (copy / "info/menus.yaml").read_text()
    first_goto = next(line for line in text.splitlines() if "goto:" in line and "flow:" not in line)
    target = first_goto.split("goto:")[1].strip()
    found = problems_after(
        copy, "info/menus.yaml", first_goto, first_goto.replace(target, "nowhere.at_all")
    )
    assert any("goto nowhere.at_all: no such info entry" in p for p in found), found


def test_a_dead_end_is_found(copy: Path) -> None:
    (copy / "info/extra.yaml").write_text("lonely:\n  sms: Nothing follows this.\n")
    found = [str(p) for p in check(settings_for(copy))[0]]
    assert any("extra.lonely: no options: a dead end" in p for p in found)
    assert any("extra.lonely: cannot be reached" in p for p in found)


def test_unknown_references_and_params_are_found(copy: Path) -> None:
    found = problems_after(
        copy,
        "flows/who.yaml",
        "Who would you like help for?",
        "Call {helplines.nobody.phone} or {mystery}.",
    )
    assert any("{helplines.nobody.phone} is not in content/data" in p for p in found)
    assert any("{mystery} is not listed in params" in p for p in found)


def test_a_missing_flow_entry_and_duplicate_keys_are_found(copy: Path) -> None:
    found = problems_after(copy, "flows/callback.yaml", "\nvoicemail:", "\nvoicemail_gone:")
    assert any("content key callback.voicemail not found" in p for p in found), found
    found = problems_after(copy, "flows/who.yaml", "ask:", "ask:\n  sms: one\nask:")
    assert any("duplicate key 'ask'" in p for p in found), found


def test_an_incomplete_locale_fails(copy: Path, tmp_path: Path) -> None:
    locales = tmp_path / "locales"
    (locales / "xx" / "LC_MESSAGES").mkdir(parents=True)
    (locales / "xx" / "LC_MESSAGES" / "messages.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#, fuzzy\nmsgctxt "who.ask:sms"\nmsgid "Who would you like help for?"\nmsgstr "Kto?"\n\n'
        'msgctxt "words.too_long:sms"\n'
        'msgid "That is a bit long. Please keep it under {limit} characters."\n'
        'msgstr "Za dlugie."\n'
    )
    settings = Settings(
        content_dir=copy, locales_dir=locales, shipped_locales="en,xx", frontdoor_secret="x"
    )
    found = [str(p) for p in check(settings)[0]]
    assert any("[xx] not translated" in p for p in found)
    assert any("[xx] fuzzy" in p for p in found)
    assert any("[xx] placeholders differ in words.too_long:sms" in p for p in found)


def test_an_option_id_too_long_for_a_telegram_button_is_found(copy: Path) -> None:
    found = problems_after(copy, "info/safety.yaml", "    online:\n", "    " + "o" * 65 + ":\n")
    assert any("info/safety.yaml:" in p and "at most 64" in p for p in found), found


def tiny_content(tmp_path: Path, entries: str, catalogs: dict[str, dict[str, str]]) -> Checker:
    """A content folder with one text file, the shipped word list, and catalogs."""
    root = tmp_path / "tiny"
    (root / "data").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "content" / "data" / "transliteration.yaml", root / "data")
    (root / "test.yaml").write_text(entries, encoding="utf-8")
    locales = tmp_path / "tiny_locales"
    english = {ctx: en for ctx, en, _entry, _kind in Content(root).messages()}
    for locale, texts in catalogs.items():
        catalog = BabelCatalog(locale=locale)
        for context, text in texts.items():
            catalog.add(english[context], text, context=context)
        po = locales / locale / "LC_MESSAGES" / "messages.po"
        po.parent.mkdir(parents=True)
        with po.open("wb") as handle:
            write_po(handle, catalog)
    content = load_content(root, locales)
    assert content.problems == []
    return Checker(content, ["en", *catalogs], locales)


OFTEN = "often:\n  sms: Does it happen often?\n  options:\n    tell:\n      label: Tell us\n"


def locale_problems(checker: Checker) -> list[str]:
    checker.check_locales()
    return [str(p) for p in checker.problems]


def test_a_translation_that_strips_into_a_listed_word_is_refused(tmp_path: Path) -> None:
    found = locale_problems(
        tiny_content(
            tmp_path,
            OFTEN,
            {
                "tr": {"test.often:sms": "Sık sık mı oluyor?", "test.often.tell:label": "Anlatın"},
                "pl": {"test.often:sms": "Czy to częste?", "test.often.tell:label": "Zrób łaskę"},
            },
        )
    )
    assert any('[tr] test.often:sms: "Sık" is sent as "Sik"' in p for p in found), found
    assert any('[pl] test.often.tell:label: "łaskę" is sent as "laske"' in p for p in found)
    assert len(found) == 2, found


def test_a_listed_word_spelt_so_or_reworded_passes(tmp_path: Path) -> None:
    found = locale_problems(
        tiny_content(
            tmp_path,
            OFTEN,
            {
                "tr": {
                    "test.often:sms": "Çok mu oluyor? Sikke.",
                    "test.often.tell:label": "Anlatın",
                },
                "pl": {"test.often:sms": "Czy to częste?", "test.often.tell:label": "Laska"},
            },
        )
    )
    assert found == []


DAYS = 'keep:\n  sms: "We keep it {n, plural, one {# day} other {# days}}."\n  params: [n]\n'


def test_a_plural_lacking_a_form_its_language_needs_is_refused(tmp_path: Path) -> None:
    found = locale_problems(
        tiny_content(
            tmp_path,
            DAYS,
            {
                "ro": {"test.keep:sms": "Le păstrăm {n, plural, one {# zi} other {# de zile}}."},
                "pl": {
                    "test.keep:sms": "Trzymamy {n, plural, one {# dzień} few {# dni} "
                    "many {# dni} other {# dnia}}."
                },
                "uk": {"test.keep:sms": "Зберігаємо {n, plural, one {# день} other {# днів}."},
            },
        )
    )
    assert any("[ro] test.keep:sms: {n, plural} lacks the form(s) few" in p for p in found), found
    assert any("[uk] test.keep:sms: a plural block is not closed" in p for p in found), found
    assert not any("[pl]" in p for p in found), found


def test_a_plural_count_not_in_params_is_found(tmp_path: Path) -> None:
    checker = tiny_content(tmp_path, DAYS.replace("params: [n]", "params: [m]"), {})
    checker.check_entries()
    found = [str(p) for p in checker.problems]
    assert any("{n, plural}: n is not listed in params" in p for p in found), found


PLAIN_DAYS = 'keep:\n  sms: "We keep it {days} days."\n  params: [days]\n'
RO_DAYS = "Le păstrăm {days, plural, one {# zi} few {# zile} other {# de zile}}."


def test_a_translation_may_count_what_the_english_leaves_plain(tmp_path: Path) -> None:
    checker = tiny_content(tmp_path, PLAIN_DAYS, {"ro": {"test.keep:sms": RO_DAYS}})
    assert locale_problems(checker) == []
    content = checker.content
    said = [content.text("test.keep", "ro", {"days": n}) for n in (1, 2, 28, 101)]
    assert said == [
        "Le păstrăm 1 zi.",
        "Le păstrăm 2 zile.",
        "Le păstrăm 28 de zile.",
        "Le păstrăm 101 zile.",
    ]


def test_a_plural_block_for_a_param_the_english_lacks_is_refused(tmp_path: Path) -> None:
    wrong = RO_DAYS.replace("{days, plural", "{weeks, plural")
    found = locale_problems(tiny_content(tmp_path, PLAIN_DAYS, {"ro": {"test.keep:sms": wrong}}))
    assert any("[ro] placeholders differ in test.keep:sms" in p for p in found), found


def test_an_empty_item_in_a_safety_phrase_list_is_found(copy: Path) -> None:
    """ "- # a comment" is an empty YAML item; read as the phrase "None" it once fired
    on every Lithuanian word starting "non"."""
    found = problems_after(
        copy, "safety/en.yaml", "    phrases:\n", "    phrases:\n      - # a comment as an item\n"
    )
    assert any("safety/en.yaml" in p and "empty item" in p for p in found), found
