"""The safety screen on its own: phrase syntax, negation, past time, numbers,
languages, the classifier's file, and the targets on the held-out messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from bot.safety import SafetyScreen
from bot.safety.classifier import MODEL_PATH, N_FEATURES, Model, train
from bot.safety.commands import run_eval
from bot.safety.corpus import fingerprint, read_split, read_training
from bot.safety.evaluate import evaluate, table
from bot.safety.patterns import SIGNALS, PatternError, PatternSet
from bot.settings import PROJECT_ROOT, get_settings

CORPUS = PROJECT_ROOT / "tests" / "data" / "safety"
PATTERNS = PROJECT_ROOT / "content" / "safety"
LOCALES = get_settings().locales


@pytest.fixture(scope="module")
def screen() -> SafetyScreen:
    return SafetyScreen(PATTERNS, LOCALES)


def kinds(screen: SafetyScreen, text: str) -> set[str]:
    return set(screen.read(text).kinds)


def small(phrases: dict[str, list[str]], **extra: object) -> PatternSet:
    """A pattern set made in the test, to prove the syntax on its own."""
    groups = [{"signal": s, "phrases": p} for s, p in phrases.items()]
    data = {"language": "en", "stemmer": "english", "patterns": groups, **extra}
    return PatternSet(Path("en.yaml"), data)


def fired(patterns: PatternSet, text: str) -> set[str]:
    return {h.signal for h in patterns.find(text) if h.signal and not h.negated and not h.past}


# ----- the phrase syntax ------------------------------------------------------
def test_a_base_form_covers_the_forms_people_type() -> None:
    patterns = small({"danger_now": ["hit me"]})
    for text in ("he hits me", "hes hitting me", "HE HIT ME", "he is hittting me!!"):
        assert fired(patterns, text) == {"danger_now"}, text
    assert fired(patterns, "he hit my car") == set()


def test_alternatives_optional_words_gaps_prefixes_and_numbers() -> None:
    patterns = small(
        {
            "danger_now": ["he ~2 at (the|my) door|window", "strangl*"],
            "child": ["i am <10-17> !weeks|months"],
        }
    )
    assert fired(patterns, "he is right at the door") == {"danger_now"}
    assert fired(patterns, "he at my window") == {"danger_now"}
    assert fired(patterns, "he is standing here at door") == set()  # the gap is 2 words at most
    assert fired(patterns, "he keeps strangling me") == {"danger_now"}
    assert fired(patterns, "i am 14") == {"child"}
    assert fired(patterns, "i am 14 weeks pregnant") == set()
    assert fired(patterns, "i am 34") == set()


def test_a_phrase_can_require_the_whole_clause() -> None:
    patterns = small({"danger_now": ["^ help $"]})
    assert fired(patterns, "HELP!!") == {"danger_now"}
    assert fired(patterns, "help with housing") == set()
    assert fired(patterns, "i need help") == set()


@pytest.mark.parametrize(
    "phrase",
    [
        "~2 door",
        "door ~2",
        "kill|",
        "(only)",
        "<ten-17>",
        "!not here",
        "self-harm",
        "help ^",
        "$ help",
    ],
)
def test_a_phrase_that_cannot_mean_what_it_says_is_refused(phrase: str) -> None:
    with pytest.raises(PatternError):
        small({"danger_now": [phrase]})


def test_negation_before_or_inside_a_phrase_turns_it_off_unless_reversed() -> None:
    patterns = small(
        {"danger_now": ["he ~2 here", "hitting me", "can not breathe"]},
        negations="not, never",
        negation_reversers="stop",
        spellings={"hes": "he is", "wont": "will not", "cant": "can not"},
    )
    assert fired(patterns, "hes not here") == set()
    assert fired(patterns, "he is here") == {"danger_now"}
    assert fired(patterns, "he is never hitting me") == set()
    assert fired(patterns, "he wont stop hitting me") == {"danger_now"}
    assert fired(patterns, "i cant breathe") == {"danger_now"}  # its own "not" is no negation


def test_past_time_lowers_a_phrase_to_its_indicator_in_that_clause_only() -> None:
    data = {
        "language": "en",
        "stemmer": "english",
        "past": ["years ago", "used to"],
        "present": "now",
        "clause_breaks": "and, but",
        "patterns": [
            {"signal": "danger_now", "indicator": "strangulation", "phrases": ["strangl*"]}
        ],
    }
    patterns = PatternSet(Path("en.yaml"), data)
    [hit] = patterns.find("he strangled me years ago")
    assert hit.past and hit.indicator == "strangulation"
    assert fired(patterns, "he used to strangle me and now hes strangling me") == {"danger_now"}
    assert fired(patterns, "he used to strangle me, hes strangling me now") == {"danger_now"}


def test_a_negation_inside_a_phrase_is_found_and_read_as_negated() -> None:
    patterns = small({"danger_now": ["he is here"]}, negations="not, never")
    [hit] = patterns.find("he is not here")
    assert hit.negated
    assert fired(patterns, "he is here") == {"danger_now"}


def test_negation_after_the_words_and_inside_a_word() -> None:
    data = {
        "language": "tr",
        "stemmer": "turkish",
        "negations_after": "degil, nahi",
        "negation_after_window": 1,
        "negated_forms": "*m[ae]y[ae]c[ae]*, *m[ae]d[iu]",
        "negation_reversers": "ruk",
        "patterns": [
            {"signal": "harm_risk", "phrases": ["onu oldur*", "=vurdum"]},
            {"signal": "danger_now", "phrases": ["evde", "maar raha"]},
        ],
    }
    patterns = PatternSet(Path("tr.yaml"), data)
    assert fired(patterns, "onu oldurecegim") == {"harm_risk"}
    assert fired(patterns, "onu oldurmeyecegim") == set()
    assert fired(patterns, "evde") == {"danger_now"}
    assert fired(patterns, "evde degil") == set()
    assert fired(patterns, "maar raha nahi ruk raha") == {"danger_now"}  # the next verb's


def test_a_break_word_after_a_clitic_and_a_short_tail_keep_the_clause() -> None:
    data = {
        "language": "bg",
        "clause_breaks": "и, and",
        "no_break_after": "ще",
        "patterns": [
            {"signal": "harm_risk", "phrases": ["ще и счупя"]},
            {"signal": "danger_now", "phrases": ["address ~3 knife"]},
        ],
    }
    patterns = PatternSet(Path("bg.yaml"), data)
    assert fired(patterns, "ще и счупя главата") == {"harm_risk"}
    assert fired(patterns, "i have his address and a knife") == {"danger_now"}
    assert fired(patterns, "his address and then i bought a knife") == set()


def test_one_language_denying_it_outweighs_another_reading_its_words(
    screen: SafetyScreen,
) -> None:
    assert kinds(screen, "im not suicidal, just really tired") == set()
    assert kinds(screen, "can you help me with housing") == set()
    assert "crisis" in kinds(screen, "im suicidal")


def test_a_message_that_denies_or_dates_is_noticed_in_its_own_language() -> None:
    patterns = small(
        {"danger_now": ["hit me"]},
        negations="not, never",
        past=["years ago", "used to"],
        present="now",
    )
    assert patterns.denies_or_dates("he does not hit me he just shouts")
    assert patterns.denies_or_dates("he used to hit me")
    assert patterns.denies_or_dates("the police came in 2019")
    assert not patterns.denies_or_dates("he is hitting me")
    assert not patterns.denies_or_dates("he used to hit me and now he is hitting me again")


def sure_model(score: float) -> Model:
    """A real model that gives every message the same score for every signal."""
    weights = sparse.csc_matrix((N_FEATURES, len(SIGNALS)), dtype=np.float64)
    logit = float(np.log(score / (1 - score)))
    return Model(SIGNALS, weights, np.full(len(SIGNALS), logit), np.full(len(SIGNALS), 0.5), "")


def test_the_classifier_alone_can_be_made_surer_of_a_message_that_denies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.safety import screen as module

    assert not module.CAUTIOUS_KINDS  # shipped switched off, see screen.py
    monkeypatch.setattr(module, "CAUTIOUS_KINDS", frozenset({"danger_now"}))
    screen = SafetyScreen(PATTERNS, LOCALES)
    screen.model = sure_model(0.9)
    assert set(screen.read("ele grita com os vizinhos", "pt").kinds) == set(SIGNALS)
    others = set(SIGNALS) - {"danger_now"}  # often said with a negation: not held back
    assert set(screen.read("ele nao grita com os vizinhos", "pt").kinds) == others
    assert set(screen.read("ele gritava com os vizinhos ha dois anos", "pt").kinds) == others
    screen.model = sure_model(0.99)
    assert set(screen.read("ele nao grita com os vizinhos", "pt").kinds) == set(SIGNALS)


# ----- the shipped screen ---------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("hes at the door", "danger_now"),
        ("he's got a knife", "danger_now"),
        ("hes strangling me", "danger_now"),
        ("i cant breathe", "danger_now"),
        ("please help me", "danger_now"),
        ("im bleeding", "danger_now"),
        ("send police", "danger_now"),
        ("999", "danger_now"),
        ("i want to kill myself", "crisis"),
        ("ive taken a load of pills", "crisis"),
        ("im 14 and my dad hits my mum", "child"),
        ("i want to kill her", "harm_risk"),
        ("pomocy", "danger_now"),
        ("ajutor", "danger_now"),
    ],
)
def test_what_was_missed_before_is_caught(screen: SafetyScreen, text: str, signal: str) -> None:
    assert signal in kinds(screen, text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm not in danger now",
        "the police came last year",
        "my number is 07999 123456",
        "01702 112233",
        "help",
        "HELP",
        "yes",
        "2",
        "friday after 2",
        "what is coercive control",
        "my son is 14",
    ],
)
def test_ordinary_messages_raise_nothing(screen: SafetyScreen, text: str) -> None:
    assert kinds(screen, text) == set()


def test_a_past_event_leaves_only_a_code_for_the_handlers(screen: SafetyScreen) -> None:
    found = screen.read("he strangled me years ago")
    assert not found.signals and "strangulation" in found.indicators
    assert "strangulation" in found.codes


@pytest.mark.parametrize(
    "text",
    [
        "wczoraj ja pobilem a dzis znowu gotuje sie ze zlosci",
        "vakar ja sumusiau o siandien vel pykstu",
    ],
)
def test_a_past_clause_does_not_silence_a_clause_that_says_now(
    screen: SafetyScreen, text: str
) -> None:
    # "I beat her yesterday and today I'm boiling with anger again"
    assert "harm_risk" in kinds(screen, text)


def test_each_signal_carries_the_language_it_was_written_in(screen: SafetyScreen) -> None:
    assert screen.read("pomocy on mnie bije").language == "pl"
    assert screen.read("ajutor ma bate").language == "ro"
    assert screen.read("hes at the door").language == "en"


def test_codes_hold_no_words(screen: SafetyScreen) -> None:
    found = screen.read("Sam says he will kill me tonight, he has a knife")
    assert set(found.codes) <= {"danger_now", "threats_to_kill", "weapon"}


# ----- the classifier's file and the measure ----------------------------------------------
def test_the_checked_in_model_was_trained_on_todays_corpus() -> None:
    model = Model.load(MODEL_PATH)
    assert model.fingerprint == fingerprint(CORPUS), (
        "the training messages changed: run `frontdoor safety train` and commit the model"
    )


def test_training_is_reproducible_and_never_reads_the_held_out_split(tmp_path: Path) -> None:
    messages = read_training(CORPUS)
    held_out = {(m.language, m.text) for m in read_split(CORPUS, "heldout")}
    overlap = held_out & {(m.language, m.text) for m in messages}
    assert not overlap, f"held-out messages also in training: {sorted(overlap)}"
    model = train(messages, fingerprint(CORPUS))
    shipped = Model.load(MODEL_PATH)
    assert np.allclose(model.thresholds, shipped.thresholds, atol=1e-4)
    assert np.allclose(model.intercepts, shipped.intercepts, atol=1e-4)
    difference = abs(model.weights - shipped.weights).max()
    assert difference < 1e-4


# Measured on the held-out split when the screen last changed (`frontdoor safety
# eval`). The service's targets (bot/safety/evaluate.py TARGETS: danger 97%,
# crisis 95%, child and harm risk 90%, false alarms 3%) are not all met yet;
# this test keeps the screen from getting worse while it is improved. Raise a
# floor when a change lifts the figure; never lower one to make a change pass.
# (Once, harm risk went down by two messages, 84 to 82 of 99, when the
# classifier began to learn from every split but the held-out one: the same
# change found 2 more danger and 3 more crisis messages, and English false
# alarms fell from 3 to 1 of 45. That trade was chosen for the people writing.)
RECALL_FLOOR = {"danger_now": 0.944, "crisis": 0.938, "child": 0.970, "harm_risk": 0.828}
FALSE_ALARM_CEILING = 0.027


def test_the_held_out_figures_never_get_worse(screen: SafetyScreen) -> None:
    report = evaluate(screen, read_split(CORPUS, "heldout"))
    shown = "\n" + table(report, LOCALES)
    for signal, floor in RECALL_FLOOR.items():
        assert (report.overall(signal).rate or 0) >= floor, shown
    assert (report.alarm_rate().rate or 0) <= FALSE_ALARM_CEILING, shown


def test_a_mixed_script_message_is_read_the_same_after_every_restart() -> None:
    """The order languages are tried in must not hang on Python's hash seed."""
    script = (
        "from bot.safety import SafetyScreen\n"
        "from bot.settings import PROJECT_ROOT, get_settings\n"
        "screen = SafetyScreen(PROJECT_ROOT / 'content' / 'safety', get_settings().locales)\n"
        "for text in ('sos الحقوني', 'help мені погано', 'ratuj me pomozi'):\n"
        "    found = screen.read(text, 'en')\n"
        "    print([(s.kind, s.language) for s in found.signals], found.language)\n"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3", "4")
    }
    assert len(seen) == 1, seen


def test_eval_names_the_splits_when_asked_for_one_that_is_not_there(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run_eval(get_settings(), split="../") == 2
    assert "the splits are: dev, heldout, probe, probe2, train" in capsys.readouterr().out
