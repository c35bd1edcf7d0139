"""Answering a step: what a message means at the question the person is at.

A pressed option, an option's number or words, a typed answer the step's
parser accepts, or SKIP becomes the trigger the flow's Machine fires (the
answer kept on the way); anything else is explained calmly, with the question
again, so the right answer is one step away. Entering a step (its prompt) is
in base.py. The engine decides only whether a message reaches the current
step at all (the safety screen, the words that work everywhere) and moves
between flows.
"""

from __future__ import annotations

from typing import Any

from bot.content.model import Content
from bot.dialogue import Dialogue
from bot.flows.base import Ask, Choice, Flow, Step
from bot.matching import match_option, option_number, word_forms
from bot.text import normalise


class Answering:
    """Reads answers to the steps of every flow; made once, with its word cache."""

    def __init__(self, content: Content, flows: dict[str, Flow]) -> None:
        self.content = content
        self.flows = flows
        self._word_cache: dict[tuple[str, str], dict[str, frozenset[str]]] = {}

    def step(self, d: Dialogue) -> Step:
        """The step the person is at."""
        return self.flows[d.flow].steps[d.state]

    def reprompt(self, d: Dialogue) -> None:
        """Ask the current question again."""
        self.step(d).prompt(d)

    def trigger_for(
        self, d: Dialogue, choice: str | None, text: str, said: str, skip: bool
    ) -> str | None:
        """The trigger this message fires, or None after explaining what went wrong.

        `choice` is a pressed option's id, `text` the message as typed and
        `said` its normalised form; `skip` is True for the word SKIP."""
        step = self.step(d)
        if skip and choice is None:
            if not step.skippable:
                self.explain(d, "words.skip_not_allowed")
                return None
            if step.slot:
                d.answers.pop(step.slot, None)  # a skipped question keeps no earlier answer
            if step.keep:
                step.keep(d, None)
            return "skip" if isinstance(step, Ask) else "pass_by"
        if isinstance(step, Choice):
            offered = step.options_for(d)
            typed = getattr(step, "typed", None)  # e.g. "fri" at "when is it safe?"
            if choice is not None:
                if choice not in offered:
                    self.explain(d, "words.old_question")
                    return None
                option = choice
            elif typed and option_number(text) is None and (hit := typed(d, said)):
                option = hit
            else:
                chosen = self._choose(d, step, offered, text, said)
                if chosen is None:
                    return None
                option = chosen
            if step.slot:
                d.answers[step.slot] = step.values.get(option, option) if step.values else option
            if step.on_pick:
                step.on_pick(d, option)
            return option
        if isinstance(step, Ask) and step.parse is not None:
            if choice is not None:
                self.explain(d, "words.old_question")
                return None
            parsed = step.parse(d, text)
            if parsed.error:
                self.explain(d, parsed.error, parsed.error_params)
                return None
            if step.slot:
                d.answers[step.slot] = parsed.value
            if step.keep:
                step.keep(d, parsed.value)
            return "answer"
        self.explain(d, "words.not_understood")
        return None

    def _choose(
        self, d: Dialogue, step: Choice, offered: list[str], text: str, said: str
    ) -> str | None:
        if not said:
            self.explain(d, "words.empty")
            return None
        number = option_number(text)
        if number is not None:
            if 1 <= number <= len(offered):
                return offered[number - 1]
            self.explain(d, "words.out_of_range", {"count": len(offered)})
            return None
        forms = self._forms(step.key, d.locale)
        labels = step.labels(d) if step.labels else {}
        candidates = {
            oid: forms.get(oid, frozenset())
            | ({normalise(labels[oid])} if oid in labels else set())
            for oid in offered
        }
        option = match_option(text, candidates)
        if option is None:
            self.explain(d, "words.not_understood")
        return option

    def _forms(self, key: str, locale: str) -> dict[str, frozenset[str]]:
        """An entry's options and their normalised words in a locale, made once."""
        cached = self._word_cache.get((key, locale))
        if cached is None:
            options = [o.id for o in self.content.entry(key).options]
            cached = word_forms({o: self.content.words(key, o, locale) for o in options})
            self._word_cache[(key, locale)] = cached
        return cached

    def explain(self, d: Dialogue, key: str, params: dict[str, Any] | None = None) -> None:
        """Say calmly what went wrong, so the right answer is one step away.

        An answer to an earlier question gets the current question in full; on
        a choice the explanation carries the current options; after a general
        message about typed text the question comes again.
        """
        step = self.step(d)
        if key == "words.old_question":
            d.say(key, params)
            self.reprompt(d)
        elif isinstance(step, Choice):
            labels = step.offer(d)
            d.replies.append(
                self.content.reply(
                    key, d.locale, params, options=list(labels), option_labels=labels
                )
            )
        else:
            d.say(key, params)
            if key.startswith("words."):
                self.reprompt(d)
