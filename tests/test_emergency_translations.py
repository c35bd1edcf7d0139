"""The review's translation faults stay fixed: verbs and "then" in the emergency
guidance, registration stated plainly, greetings, and the chosen key terms."""

from __future__ import annotations

import pytest

from bot.content.model import load_content
from bot.settings import Settings

EMERGENCY = ("words.danger", "safety.emergency")
# Per language: dial, listen, then, press, each in that order before 55, and
# how "if you have (already) registered with emergencySMS" must read.
STEPS = {
    "bg": (("наберете 999", "обадете се на 999"), "слушайте", ("после", "след това"), "натиснете"),
    "uk": (("наберіть 999", "телефонуйте 999"), "слухайте", ("потім",), "натисніть"),
    "lt": (("skambinkite 999",), "klausykite", ("tada",), "paspauskite"),
}
REGISTERED = {
    "bg": ("ако вече сте", "регистри"),
    "uk": ("якщо ви вже зареєстровані в emergencysms",),
    "lt": ("esate užsiregistravę emergencysms sistemoje",),
}


@pytest.fixture(scope="module")
def content():  # noqa: ANN201
    settings = Settings(frontdoor_secret="x")
    return load_content(settings.content_dir, settings.locales_dir)


def forms(content, key: str, locale: str) -> list[str]:  # noqa: ANN001
    reply = content.reply(key, locale)
    return [content.text(key, locale).casefold(), reply.rich.casefold()]


@pytest.mark.parametrize("locale", sorted(STEPS))
@pytest.mark.parametrize("key", EMERGENCY)
def test_the_silent_solution_is_dial_listen_then_press(content, key: str, locale: str) -> None:  # noqa: ANN001
    dial, listen, then, press = STEPS[locale]
    for text in forms(content, key, locale):
        assert any(word in text for word in dial), text
        at_listen = text.index(listen)
        at_then = min(text.index(w, at_listen) for w in then if w in text[at_listen:])
        at_press = text.index(press, at_then)
        assert at_listen < at_then < at_press < text.index("55", at_press), text
        assert f"{listen} и {press}" not in text and f"{listen} і {press}" not in text


@pytest.mark.parametrize("locale", sorted(REGISTERED))
@pytest.mark.parametrize("key", EMERGENCY)
def test_text_999_is_only_for_people_already_registered(content, key: str, locale: str) -> None:  # noqa: ANN001
    for text in forms(content, key, locale):
        assert all(part in text for part in REGISTERED[locale]), text
        assert "(регистрация" not in text and "(реєстрація" not in text


@pytest.mark.parametrize("locale", ["pl", "ro", "lt", "pt", "bg", "tr", "uk", "ur", "ar"])
@pytest.mark.parametrize("key", EMERGENCY)
def test_every_language_keeps_every_number(content, key: str, locale: str) -> None:  # noqa: ANN001
    for text in forms(content, key, locale):
        for must in ("999", "55", "999 bsl", "emergencysms", "silent solution"):
            assert must in text, (locale, must)


@pytest.mark.parametrize(
    ("locale", "opening", "not_said"),
    [("pl", "Dzień dobry", "Cześć"), ("ro", "Bună ziua", None)],
)
def test_greetings_open_politely(content, locale: str, opening: str, not_said) -> None:  # noqa: ANN001
    for text in (
        content.text("first_contact.greeting", locale),
        content.reply("first_contact.greeting", locale).rich,
    ):
        assert text.startswith(opening), text
        assert not_said is None or not_said not in text


@pytest.mark.parametrize(
    ("locale", "word", "not_said"), [("ar", "سرية", "خاصة"), ("ur", "رازدارانہ", "نجی")]
)
def test_greetings_say_confidential(content, locale: str, word: str, not_said: str) -> None:  # noqa: ANN001
    for text in (
        content.text("first_contact.greeting", locale),
        content.reply("first_contact.greeting", locale).rich,
    ):
        assert word in text and not_said not in text


def test_polish_asks_for_a_call_back_in_the_agreed_words(content) -> None:  # noqa: ANN001
    labels = [
        content.label(key, "ask_call", "pl")
        for key, entry in content.entries.items()
        if entry.option("ask_call")
    ]
    assert labels and "Poproś o telefon" not in labels
    assert labels.count("Poproś o oddzwonienie") > len(labels) // 2


def test_portuguese_says_who_is_called(content) -> None:  # noqa: ANN001
    assert "Vamos ligar-lhe" in content.text("my_request.times_saved", "pt")
    assert "ligar-lhe" in content.text("my_request.status", "pt")


@pytest.mark.parametrize(
    ("locale", "wrong"),
    [
        ("bg", "слушайте и натиснете"),
        ("uk", "слухайте й натисніть"),
        ("uk", "слухайте і натисніть"),
    ],
)
def test_no_text_says_listen_and_press(content, locale: str, wrong: str) -> None:  # noqa: ANN001
    said = [context for (context, _en), text in content.catalogs[locale].items() if wrong in text]
    assert said == []


def test_polish_names_a_reference_numer_zgloszenia(content) -> None:  # noqa: ANN001
    texts = list(content.catalogs["pl"].values())
    assert not any("numer sprawy" in text.casefold() for text in texts)
    assert any("Numer zgłoszenia: {reference}" in text for text in texts)


def test_portuguese_never_leaves_out_whom_we_call(content) -> None:  # noqa: ANN001
    texts = list(content.catalogs["pt"].values())
    assert not any("vai ligar {when}" in t or "Vamos ligar {when}" in t for t in texts)
    assert any("vai ligar-lhe {when}" in text for text in texts)
