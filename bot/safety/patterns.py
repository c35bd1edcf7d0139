"""Safety patterns: phrases written as data, one file per language, matched
against a message's words with negation and past-time read around them.

A pattern file (content/safety/LANG.yaml) lists groups; each group names the
signal it raises (and/or a risk indicator code for the handlers) and the
phrases that raise it. The phrase syntax is in content/safety/README.md:

    he|she|they ~2 at (the) door|window      alternatives, optional word, gap
    strangl*                                 any word starting with "strangl"
    i am <10-17> !weeks|months               a number in a range; a word that must not follow
    =hitting                                 this spelling only, not every form
    ^ ajutor $                               the whole clause, nothing before or after

Words are compared by their base form in the file's language (Snowball), with
stretched letters squeezed, so "hittin", "hitting" and "hits" all meet "hit".
A match is dropped when a negation word comes just before it or inside a gap
("he is not here"), and lowered to its indicator alone when the same clause
speaks of the past ("he choked me years ago").
"""

from __future__ import annotations

import fnmatch
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.content.loader import line_of, read_yaml
from bot.safety.stems import Stems
from bot.safety.tokens import clauses, squeeze

SIGNALS = ("danger_now", "crisis", "child", "harm_risk")
INDICATORS = (
    "strangulation",
    "threats_to_kill",
    "weapon",
    "separation",
    "stalking",
    "sexual_violence",
    "pregnancy",
    "escalation",
    "children_harmed",
)
FILE_FIELDS = frozenset(
    {
        "language",
        "stemmer",
        "negations",
        "negation_window",
        "negation_reversers",
        "negations_after",
        "negation_after_window",
        "negated_forms",
        "no_break_after",
        "past",
        "present",
        "clause_breaks",
        "spellings",
        "patterns",
    }
)
GROUP_FIELDS = frozenset({"signal", "indicator", "phrases", "examples", "negated", "comment"})


class PatternError(ValueError):
    """A phrase or file that cannot be read; the content check reports it."""


# ----- one word position of a phrase -----------------------------------------
@dataclass(frozen=True, slots=True)
class Alt:
    literal: str  # squeezed normalised word, or prefix
    key: str  # its stem key (literals only)
    prefix: bool
    exact: bool = False  # `=word`: this spelling only, not every form of it


@dataclass(frozen=True, slots=True)
class Slot:
    alts: tuple[Alt, ...] = ()
    optional: bool = False
    gap: int = 0  # > 0: up to this many other words
    number: tuple[int, int] | None = None
    absent: bool = False  # `!a|b`: the next word is none of these (or there is none)
    edge: str = ""  # "^": the clause starts here; "$": the clause ends here
    norms: frozenset[str] = frozenset()  # made from `alts` for quick look-ups
    keys: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    @classmethod
    def of(cls, alts: tuple[Alt, ...], optional: bool = False, absent: bool = False) -> Slot:
        return cls(
            alts,
            optional,
            absent=absent,
            norms=frozenset(a.literal for a in alts if not a.prefix),
            keys=frozenset(a.key for a in alts if not a.prefix and not a.exact),
            prefixes=tuple(a.literal for a in alts if a.prefix),
        )


@dataclass(frozen=True, slots=True)
class Token:
    norm: str  # squeezed normalised word
    key: str  # squeezed stem


@dataclass
class Phrase:
    text: str
    slots: tuple[Slot, ...]
    group: Group | None
    # Each required slot made only of whole words, as one set of its words'
    # forms: a message lacking any one of them cannot match, which a set test
    # tells far faster than trying the phrase.
    needs: tuple[frozenset[str], ...] = ()

    def __post_init__(self) -> None:
        needs = tuple(
            slot.norms | slot.keys
            for slot in self.slots
            if slot.alts and not slot.optional and not slot.absent and not slot.prefixes
        )
        # The first is nearly always the word the phrase was found by (see
        # PhraseIndex), so it is tested last: a miss is found a test sooner.
        self.needs = needs[1:] + needs[:1]


PREFIX_KEY = 3  # letters of a prefix its index bucket is named by


class PhraseIndex:
    """Phrases indexed by the words a match can start with, so a message is
    checked only against phrases that can begin at each of its words."""

    def __init__(self, phrases: list[Phrase]) -> None:
        self.by_key: dict[str, list[Phrase]] = defaultdict(list)
        self.by_norm: dict[str, list[Phrase]] = defaultdict(list)
        self.by_prefix: dict[str, list[tuple[str, Phrase]]] = defaultdict(list)
        self.numbers: list[Phrase] = []
        self._memo: dict[tuple[str, str], tuple[Phrase, ...]] = {}
        for phrase in phrases:
            self._add(phrase, phrase.slots)

    def _add(self, phrase: Phrase, slots: tuple[Slot, ...]) -> None:
        first = slots[0]
        if first.edge == "^":  # filed under the word after it; _match checks the start
            self._add(phrase, slots[1:])
            return
        if first.optional:  # index both ways: with the optional word and without it
            self._add(phrase, (replace(first, optional=False), *slots[1:]))
            self._add(phrase, slots[1:])
            return
        if first.number is not None:
            self.numbers.append(phrase)
            return
        for alt in first.alts:
            if alt.prefix:
                self.by_prefix[alt.literal[:PREFIX_KEY]].append((alt.literal, phrase))
            elif alt.exact:
                self.by_norm[alt.literal].append(phrase)
            else:
                self.by_key[alt.key].append(phrase)
                self.by_norm[alt.literal].append(phrase)

    def candidates(self, token: Token) -> tuple[Phrase, ...]:
        """Phrases that can start at this word, each once; remembered per word,
        since the same words come back in message after message."""
        memo_key = (token.norm, token.key)  # a tuple hashes in C, a dataclass in Python
        known = self._memo.get(memo_key)
        if known is not None:
            return known
        found = self.by_key.get(token.key, []) + self.by_norm.get(token.norm, [])
        # Prefixes are filed under their first PREFIX_KEY letters (or all of a
        # shorter one), so only buckets this word can start with are read.
        for word in {token.norm, token.key}:
            for size in range(1, PREFIX_KEY + 1):
                for prefix, phrase in self.by_prefix.get(word[:size], ()):
                    if word.startswith(prefix):
                        found.append(phrase)
        if token.norm.isdigit():
            found.extend(self.numbers)
        unique = tuple({id(p): p for p in found}.values())
        if len(self._memo) > 50_000:
            self._memo.clear()
        self._memo[memo_key] = unique
        return unique

    def matches(
        self, tokens: list[Token], skip: frozenset[str] = frozenset()
    ) -> list[tuple[Phrase, int, list[int], set[int]]]:
        """Every phrase found, with where it starts, its gap words and its own words.
        Words in `skip` (negations) may stand between two words of a phrase: the
        phrase is then found, as negated ("he is not here", "i am not suicidal")."""
        out = []
        words = {t.norm for t in tokens} | {t.key for t in tokens}
        for start, token in enumerate(tokens):
            for phrase in self.candidates(token):
                for need in phrase.needs:
                    if need.isdisjoint(words):
                        break
                else:
                    found = _match(phrase.slots, tokens, 0, start, [], skip)
                    if found is not None:
                        out.append((phrase, start, found[0], found[1]))
        return out


@dataclass
class Group:
    signal: str | None
    indicator: str | None
    phrases: list[str]
    examples: list[str]
    negated: list[str]
    line: int


@dataclass(frozen=True, slots=True)
class Hit:
    """One phrase found in a message, and how it was read."""

    signal: str | None
    indicator: str | None
    language: str
    phrase: str
    negated: bool
    past: bool


def _words(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [w.strip() for w in value.split(",") if w.strip()]
    return [str(w).strip() for w in value if str(w).strip()]


class PatternSet:
    """Every phrase of one language, indexed by the words a match can start with."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.language = str(data.get("language") or path.stem)
        self.stems = Stems(data.get("stemmer") or None)
        self.window = int(data.get("negation_window", 3))
        self._seen: dict[str, tuple[Token, ...]] = {}
        self.spellings: dict[str, tuple[str, ...]] = {}
        for wrong, right in (data.get("spellings") or {}).items():
            self.spellings[squeeze(self._clean_one(str(wrong)))] = tuple(
                squeeze(w) for w in self._clean(str(right))
            )
        self.breaks = frozenset(self._clean_one(w) for w in _words(data.get("clause_breaks")))
        self.negations = frozenset(self._norm_words(data.get("negations")))
        self.reversers = frozenset(self._keys(data.get("negation_reversers")))
        # Negation after the words it denies: Roman Urdu "ghar par nahi", Turkish
        # "evde degil", Ukrainian "його тут немає".
        self.negations_after = frozenset(self._norm_words(data.get("negations_after")))
        self.after_window = int(data.get("negation_after_window", 2))
        # Negation inside a word (Turkish "oldurmeyecegim", "vurmadi"): word shapes.
        forms = [fnmatch.translate(f) for f in _words(data.get("negated_forms"))]
        self.negated_forms = re.compile("|".join(forms)) if forms else None
        # Words after which a clause-break word is an ordinary word (Bulgarian
        # "ще и кажа": "и" is "her" there, not "and").
        self.no_break_after = frozenset(self._norm_words(data.get("no_break_after")))
        self.past = PhraseIndex(
            [Phrase(p, self.compile(p), None) for p in _words_list(data.get("past"))]
        )
        self.present = PhraseIndex(
            [Phrase(p, self.compile(p), None) for p in _words(data.get("present"))]
        )
        self.groups: list[Group] = []
        self.phrases: list[Phrase] = []
        for raw in data.get("patterns") or []:
            group = Group(
                signal=raw.get("signal"),
                indicator=raw.get("indicator"),
                phrases=_words_list(raw.get("phrases")),
                examples=_words_list(raw.get("examples")),
                negated=_words_list(raw.get("negated")),
                line=line_of(raw),
            )
            self.groups.append(group)
            for text in group.phrases:
                self.phrases.append(Phrase(text, self.compile(text), group))
        self.index = PhraseIndex(self.phrases)

    # ----- reading phrases ---------------------------------------------------
    @staticmethod
    def _clean(text: str) -> list[str]:
        return [w for clause in clauses(text) for w in clause]

    def _clean_one(self, word: str) -> str:
        words = self._clean(word)
        return words[0] if words else ""

    def _norm_words(self, value: Any) -> list[str]:
        return [squeeze(self._clean_one(w)) for w in _words(value) if self._clean_one(w)]

    def _keys(self, value: Any) -> list[str]:
        return [self.stems.key(self._clean_one(w)) for w in _words(value) if self._clean_one(w)]

    def compile(self, text: str) -> tuple[Slot, ...]:
        slots: list[Slot] = []
        for part in text.split():
            if part in ("^", "$"):
                slots.append(Slot(edge=part))
                continue
            optional = part.startswith("(") and part.endswith(")")
            body = part[1:-1] if optional else part
            if body.startswith("~"):
                if not body[1:].isdigit() or optional:
                    raise PatternError(f"{text!r}: a gap is ~ and a number, e.g. ~2")
                slots.append(Slot(gap=int(body[1:])))
                continue
            if body.startswith("<") and body.endswith(">"):
                low, _, high = body[1:-1].partition("-")
                if not (low.isdigit() and high.isdigit()):
                    raise PatternError(f"{text!r}: a number range is written <10-17>")
                slots.append(Slot(number=(int(low), int(high)), optional=optional))
                continue
            absent = body.startswith("!")
            if absent and optional:
                raise PatternError(f"{text!r}: `!` cannot be optional")
            alts: list[Alt] = []
            for alt in body.removeprefix("!").split("|"):
                prefix, exact = alt.endswith("*"), alt.startswith("=")
                words = self._clean(alt.rstrip("*").removeprefix("="))
                if len(words) != 1:
                    raise PatternError(f"{text!r}: {alt!r} must be one word")
                word = words[0]
                if prefix:
                    alts.append(Alt(squeeze(word), "", True))
                else:
                    alts.append(Alt(squeeze(word), self.stems.key(word), False, exact))
            slots.append(Slot.of(tuple(alts), optional, absent))
        if not slots or all(s.optional or s.gap or s.absent or s.edge for s in slots):
            raise PatternError(f"{text!r}: a phrase needs at least one word that must be there")
        if any(s.edge == "^" for s in slots[1:]) or any(s.edge == "$" for s in slots[:-1]):
            raise PatternError(f"{text!r}: ^ can only begin a phrase and $ only end it")
        inner = [s for s in slots if not s.edge]
        if inner[0].gap or inner[-1].gap or inner[0].absent:
            raise PatternError(f"{text!r}: a phrase cannot begin or end with a gap")
        return tuple(slots)

    # ----- reading a message ---------------------------------------------------
    def tokens(self, words: tuple[str, ...]) -> list[Token]:
        out: list[Token] = []
        for word in words:
            out.extend(self._word_tokens(word))
        return out

    def _word_tokens(self, word: str) -> tuple[Token, ...]:
        """One word as this language reads it (spelling swapped, stem taken), remembered."""
        found = self._seen.get(word)
        if found is None:
            squeezed = squeeze(word)
            found = tuple(
                Token(squeeze(part), self.stems.key(part))
                for part in self.spellings.get(squeezed, (word,))
            )
            if len(self._seen) > 50_000:
                self._seen.clear()
            self._seen[word] = found
        return found

    def find(self, text: str) -> list[Hit]:
        hits: list[Hit] = []
        for tokens in self._clause_tokens(text):
            found = self.index.matches(tokens, self.negations)
            if not found:
                continue
            past = (
                bool(self.past.matches(tokens)) or any(_a_past_year(t.norm) for t in tokens)
            ) and not self.present.matches(tokens)
            for phrase, start, gaps, matched in found:
                group = phrase.group
                assert group is not None
                hits.append(
                    Hit(
                        group.signal,
                        group.indicator,
                        self.language,
                        phrase.text,
                        self._negated(tokens, phrase, start, gaps, matched),
                        past,
                    )
                )
        return hits

    def speaks_of_now(self, text: str) -> bool:
        """Does any clause, read in this language, say "now" ("today", "again
        tonight")? Then a phrase found in another clause's past does not speak
        for the whole message."""
        return any(self.present.matches(tokens) for tokens in self._clause_tokens(text))

    def denies_or_dates(self, text: str) -> bool:
        """Does any clause, read in this language, deny something or speak of
        the past? The classifier reads letters, not meaning: "he doesn't hit me"
        and "he used to hit me" look to it like "he hits me", so alone it must
        be surer of such a message (see SafetyScreen.read)."""
        for tokens in self._clause_tokens(text):
            if any(t.norm in self.negations or t.norm in self.negations_after for t in tokens):
                return True
            if self.negated_forms is not None and any(
                self.negated_forms.fullmatch(t.norm) for t in tokens
            ):
                return True
            dated = self.past.matches(tokens) or any(_a_past_year(t.norm) for t in tokens)
            if dated and not self.present.matches(tokens):
                return True
        return False

    def _clause_tokens(self, text: str) -> list[list[Token]]:
        """The clauses as tokens. A short tail after a break word ("and a knife",
        "и нож") names no new event: it stays with the clause before, unless it
        says when (past or present) or denies something."""
        out: list[list[Token]] = []
        for words in clauses(text, self.breaks, self.no_break_after):
            tokens = self.tokens(words)
            if (
                out
                and 2 <= len(words) <= 3
                and words[0] in self.breaks
                and not any(t.norm in self.negations for t in tokens)
                and not self.past.matches(tokens)
                and not self.present.matches(tokens)
            ):
                out[-1] = out[-1] + tokens
            else:
                out.append(tokens)
        return out

    def _negated(
        self, tokens: list[Token], phrase: Phrase, start: int, gaps: list[int], matched: set[int]
    ) -> bool:
        """A negation word just before the match, in one of its gaps or, for
        languages that deny after the verb, just after it; a negated word form
        in or after the match; and no reversing word ("stop" in "won't stop
        hitting") between the negation and what it would deny."""
        before = range(max(0, start - self.window), start)
        for index in [*before, *gaps]:
            if index in matched or tokens[index].norm not in self.negations:
                continue
            if index < start:
                between = tokens[index + 1 : start]
            else:
                following = [i for i in matched if i > index]
                between = tokens[index + 1 : min(following)] if following else []
            if any(t.key in self.reversers for t in between):
                continue
            return True
        end = max(matched) + 1 if matched else start
        for index in range(end, min(end + self.after_window, len(tokens))):
            if tokens[index].norm in self.negations_after:
                # "maar raha hai nahi ruk raha": the negation is the next verb's
                next_word = tokens[index + 1 : index + 2]
                return not any(t.key in self.reversers for t in next_word)
        if self.negated_forms is not None:
            # a word the phrase reached by its stem or a prefix, in its negative
            # form ("oldur*" in "oldurmeyecegim"); a negative form the phrase
            # spells out itself ("=durmuyor") is what it means
            spelled = {n for slot in phrase.slots for n in slot.norms}
            for index in matched:
                norm = tokens[index].norm
                if norm not in spelled and self.negated_forms.fullmatch(norm):
                    return True
        return False


def _words_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _a_past_year(word: str) -> bool:
    """ "in 2019": a year before this one dates the clause, in any language."""
    return len(word) == 4 and word.isdigit() and 1950 <= int(word) < datetime.now(UTC).year


def _slot_matches(slot: Slot, token: Token) -> bool:
    if slot.number is not None:
        return token.norm.isdigit() and slot.number[0] <= int(token.norm) <= slot.number[1]
    if token.norm in slot.norms or token.key in slot.keys:
        return True
    return any(token.norm.startswith(p) or token.key.startswith(p) for p in slot.prefixes)


def _match(
    slots: tuple[Slot, ...],
    tokens: list[Token],
    si: int,
    ti: int,
    gaps: list[int],
    skip: frozenset[str] = frozenset(),
) -> tuple[list[int], set[int]] | None:
    """Match slots from `si` at token `ti`; return the gap tokens and matched tokens.
    A word in `skip` between two matched words is passed over as a gap."""
    found = _match_slot(slots, tokens, si, ti, gaps, skip)
    if found is not None or not skip or not 0 < si < len(slots):
        return found
    slot = slots[si]  # only before a word (a gap already passes over any word)
    if slot.alts and not slot.absent and ti < len(tokens) and tokens[ti].norm in skip:
        return _match(slots, tokens, si, ti + 1, [*gaps, ti], skip)
    return None


def _match_slot(
    slots: tuple[Slot, ...],
    tokens: list[Token],
    si: int,
    ti: int,
    gaps: list[int],
    skip: frozenset[str],
) -> tuple[list[int], set[int]] | None:
    if si == len(slots):
        return gaps, set()
    slot = slots[si]
    if slot.edge:
        if (slot.edge == "^" and ti != 0) or (slot.edge == "$" and ti != len(tokens)):
            return None
        return _match(slots, tokens, si + 1, ti, gaps, skip)
    if slot.absent:
        if ti < len(tokens) and _slot_matches(slot, tokens[ti]):
            return None
        return _match(slots, tokens, si + 1, ti, gaps, skip)
    if slot.gap:
        for n in range(slot.gap + 1):
            if ti + n > len(tokens):
                break
            found = _match(slots, tokens, si + 1, ti + n, gaps + list(range(ti, ti + n)), skip)
            if found is not None:
                return found
        return None
    if ti < len(tokens) and _slot_matches(slot, tokens[ti]):
        found = _match(slots, tokens, si + 1, ti + 1, gaps, skip)
        if found is not None:
            return found[0], found[1] | {ti}
    if slot.optional:
        return _match(slots, tokens, si + 1, ti, gaps, skip)
    return None


@dataclass
class PatternFile:
    path: Path
    patterns: PatternSet | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)


def load_pattern_file(path: Path) -> PatternFile:
    """Read one language's patterns; problems are listed, never raised."""
    loaded = PatternFile(path)
    raw = read_yaml(path)
    loaded.problems.extend((p.line, p.message) for p in raw.problems)
    if not isinstance(raw.data, dict):
        loaded.problems.append((1, "a pattern file is a mapping with `patterns:`"))
        return loaded
    for unknown in set(raw.data) - FILE_FIELDS:
        loaded.problems.append((1, f"unknown field {unknown!r}"))
    for group in raw.data.get("patterns") or []:
        line = line_of(group)
        if not isinstance(group, dict):
            loaded.problems.append((line, "each pattern group is a mapping"))
            continue
        for unknown in set(group) - GROUP_FIELDS:
            loaded.problems.append((line, f"unknown field {unknown!r}"))
        if group.get("signal") is None and group.get("indicator") is None:
            loaded.problems.append((line, "a group needs a `signal`, an `indicator` or both"))
        if group.get("signal") is not None and group.get("signal") not in SIGNALS:
            loaded.problems.append((line, f"unknown signal {group.get('signal')!r}"))
        if group.get("indicator") is not None and group.get("indicator") not in INDICATORS:
            loaded.problems.append((line, f"unknown indicator {group.get('indicator')!r}"))
        if not _words_list(group.get("phrases")):
            loaded.problems.append((line, "a group needs at least one phrase"))
        for listing in ("phrases", "examples", "negated"):
            listed = group.get(listing)
            if isinstance(listed, list) and any(v is None for v in listed):
                # "- # a comment" is an empty YAML item: it would become the phrase "None".
                loaded.problems.append((line, f"an empty item in `{listing}`"))
    try:
        loaded.patterns = PatternSet(path, raw.data)
    except (PatternError, ValueError, TypeError, AttributeError) as problem:
        loaded.problems.append((1, str(problem)))
    return loaded


def empty_patterns(path: Path) -> PatternFile:
    """A language without a pattern file yet: only content's danger phrases apply."""
    return PatternFile(path, PatternSet(path, {"language": path.stem}))
