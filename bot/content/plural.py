"""Counts in the person's grammar: "1 zi, 2 zile, 20 de zile", not "28 zile".

A text may hold an ICU-style plural block, `{n, plural, one {# day} other
{# days}}`: the form is chosen by the locale's CLDR plural rules (Babel), `#`
is the number, and `=0 {...}` matches one number exactly. Every translation
lists the forms its language needs (Romanian's "other" is the "de" form from
20 up; Arabic has six). Shared counted words, such as `words.days`, are
rendered with `Content.counted` and passed to a text as a ready value. A
translation may write a count the English leaves plain ("{days} days") as a
block, so any text with a number in it can follow the language's grammar.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from babel import Locale

from bot.text import babel_locale

_START = re.compile(r"\{([a-z0-9_]+),\s*plural,")
_SELECTOR = re.compile(r"\s*(=\d+|zero|one|two|few|many|other)\s*\{")
CATEGORIES = ("zero", "one", "two", "few", "many", "other")


@dataclass(frozen=True)
class Block:
    """One `{name, plural, ...}` block: where it is and its forms by selector."""

    name: str
    start: int
    end: int
    forms: dict[str, str]


class PluralError(ValueError):
    """A plural block that cannot be read (unbalanced braces, unknown selector)."""


def _closing(text: str, opening: int) -> int:
    """Index just past the brace that closes the one at `opening`."""
    depth = 0
    for index in range(opening, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index + 1
    raise PluralError("a plural block is not closed")


def blocks(text: str) -> list[Block]:
    """Every plural block in `text`, outermost only, in order."""
    found: list[Block] = []
    position = 0
    while match := _START.search(text, position):
        end = _closing(text, match.start())
        body, forms, cursor = text[match.end() : end - 1], {}, 0
        while cursor < len(body.rstrip()):
            selector = _SELECTOR.match(body, cursor)
            if selector is None:
                raise PluralError(f"{{{match.group(1)}, plural}}: cannot read {body[cursor:]!r}")
            close = _closing(body, selector.end() - 1)
            forms[selector.group(1)] = body[selector.end() : close - 1]
            cursor = close
        if "other" not in forms:
            raise PluralError(f"{{{match.group(1)}, plural}} needs an 'other' form")
        found.append(Block(match.group(1), match.start(), end, forms))
        position = end
    return found


@lru_cache(maxsize=32)
def _rule(locale: str) -> Callable[[int], str]:
    """The locale's CLDR plural rule: a number -> its category."""
    return Locale.parse(babel_locale(locale)).plural_form


@lru_cache(maxsize=32)
def needed(locale: str) -> frozenset[str]:
    """The forms a language needs for whole numbers, and always `other`."""
    return frozenset({_rule(locale)(n) for n in range(0, 1000)} | {"other"})


def choose(forms: Mapping[str, str], value: Any, locale: str) -> str:
    """The form for `value` (an exact `=n` first, then its CLDR category)."""
    if not isinstance(value, int) or isinstance(value, bool):
        return forms["other"]
    exact = forms.get(f"={value}")
    if exact is not None:
        return exact
    return forms.get(_rule(locale)(value), forms["other"])


def render(text: str, params: Mapping[str, Any], locale: str) -> str:
    """Replace each plural block whose count is in `params` by its chosen form."""
    if "plural," not in text:
        return text
    try:
        found = blocks(text)
    except PluralError:
        return text  # the content check reports it; a person still gets the words
    out, position = [], 0
    for block in found:
        out.append(text[position : block.start])
        if block.name in params:
            value = params[block.name]
            out.append(choose(block.forms, value, locale).replace("#", str(value)))
        else:
            out.append(text[block.start : block.end])
        position = block.end
    out.append(text[position:])
    return "".join(out)


def problems(translated: str, locale: str) -> list[str]:
    """What is wrong with a text's plural blocks, in words for translators."""
    try:
        found = blocks(translated)
    except PluralError as error:
        return [str(error)]
    out = []
    for block in found:
        lacking = sorted(needed(locale) - set(block.forms), key=CATEGORIES.index)
        if lacking:
            out.append(f"{{{block.name}, plural}} lacks the form(s) {', '.join(lacking)}")
    return out


__all__ = ["Block", "PluralError", "blocks", "choose", "needed", "problems", "render"]
