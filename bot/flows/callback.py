"""Asking for a call back, with every safe-contact check, one question a message.

Order: safe number, safe times, voicemail, texts, withheld number, what to do
if someone else answers, code word, name, language and interpreter, handler
gender, access needs, area, urgency questions (content/flows/urgency.yaml),
a short note; then a plain summary, consent, and a reference.

Answers stay in the conversation (encrypted) until consent; only then does a
callback request row exist. Any question but consent can be skipped; the
route (me, someone else, own behaviour, professional) decides which apply.
"""

from __future__ import annotations

from typing import Any

from bot.content.model import Content
from bot.dialogue import Dialogue
from bot.flows import answers
from bot.flows.base import Ask, Choice, Flow, Step
from bot.flows.language import own_name
from bot.flows.safe_times import Hours, describe, time_steps
from bot.safety.patterns import SIGNALS

NAME = "callback"
YES_NO = ("yes", "no")
AS_BOOL = {"yes": True, "no": False}


def route(d: Dialogue) -> str:
    return d.audience or "me"


def _sender_is_phone(d: Dialogue) -> bool:
    return d.facts.sender_is_phone


def _use_sender(d: Dialogue, option: str) -> None:
    if option == "yes":
        d.answers["phone"] = d.facts.sender_address
    else:
        d.answers.pop("phone", None)


def _not_english(d: Dialogue) -> bool:
    return d.answers.get("language") not in (None, "en")


def _language_options(d: Dialogue) -> list[str]:
    return ["english", "mine", "other"] if d.locale != "en" else ["english", "other"]


def _pick_language(d: Dialogue, option: str) -> None:
    d.answers["language"] = {"english": "en", "mine": d.locale}.get(option, "other")


def _urgency_applies(d: Dialogue) -> bool:
    return route(d) in ("me", "someone_else")


def _adult_question_applies(d: Dialogue) -> bool:
    """No pregnancy question for someone the safety screen found to be a child."""
    return _urgency_applies(d) and "child" not in d.safety_codes


def _start(d: Dialogue) -> None:
    """A fresh request each time the flow starts from its first question."""
    if not d.editing:
        d.answers.clear()
        d.say("callback.intro")


def _summary_params(content: Content, areas: dict[str, Any]):  # noqa: ANN202
    def params(d: Dialogue) -> dict[str, Any]:
        a = d.answers
        yes_no = {True: "yes", False: "no", None: "skipped"}
        phone = a.get("phone") or ""
        area = areas.get(a.get("area") or "", {}).get("name")
        return {
            "number": phone[-4:] if phone else content.text("callback.value_skipped", d.locale),
            "times": describe(content, a.get("windows", []), a.get("asap", True), d.locale),
            "voicemail": content.text(f"callback.value_{yes_no[a.get('voicemail')]}", d.locale),
            "texts": content.text(f"callback.value_{yes_no[a.get('text_first')]}", d.locale),
            "code_word": a.get("code_word") or content.text("callback.value_skipped", d.locale),
            "name": a.get("name") or content.text("callback.value_skipped", d.locale),
            "area": area or content.text("callback.value_skipped", d.locale),
        }

    return params


def _done_editing(d: Dialogue) -> None:
    """Back at the summary, a change of one section is finished."""
    d.answers["_editing"] = False


def _confirm(d: Dialogue, option: str) -> None:
    if option != "yes":
        return
    a = {k: v for k, v in d.answers.items() if not k.startswith("_")}
    priority = sum(int(v) for k, v in a.items() if k.startswith("urgency_") and isinstance(v, int))
    flags = d.safety_codes
    if any(code in SIGNALS for code in flags):
        priority = max(priority, d.facts.urgent_priority)
    d.answers["_reference"] = d.requests.create(route(d), a, priority, flags)


def _confirmation_params(content: Content):  # noqa: ANN202
    def params(d: Dialogue) -> dict[str, Any]:
        a = d.answers
        return {
            "reference": a.get("_reference", ""),
            "when": describe(content, a.get("windows", []), a.get("asap", True), d.locale),
        }

    return params


def _forget(d: Dialogue) -> None:
    """Once consent is answered (either way) nothing of the draft stays behind."""
    d.answers.clear()


def _urgency_steps(content: Content, then: str) -> list[Step]:
    names = [k.split(".", 1)[1] for k in content.entries if k.startswith("urgency.")]
    steps: list[Step] = []
    for index, name in enumerate(names):
        weight = content.entry(f"urgency.{name}").weight
        onwards = f"urgency_{names[index + 1]}" if index + 1 < len(names) else then

        def keep(d: Dialogue, option: str, slot: str = f"urgency_{name}", w: int = weight) -> None:
            d.answers[slot] = w if option == "yes" else 0
            if option == "yes" and w >= 3 and not d.answers.get("_reminded"):
                d.answers["_reminded"] = True
                d.say("callback.urgent_reminder")

        steps.append(
            Choice(
                f"urgency_{name}",
                f"urgency.{name}",
                routes={"yes": onwards, "no": onwards},
                on_pick=keep,
                applies=_adult_question_applies if name == "pregnant" else _urgency_applies,
                skippable=True,
                passes_to=onwards,
                section="urgency",
                before="callback.urgency_intro" if index == 0 else None,
            )
        )
    return steps


def build(content: Content) -> Flow:
    hours = Hours(content.data.get("service", {}))
    areas = content.data.get("areas", {}).get("areas", {})
    first_urgency = next(
        (f"urgency_{k.split('.', 1)[1]}" for k in content.entries if k.startswith("urgency.")),
        "note",
    )
    steps: list[Step] = [
        Choice(
            "number_check",
            "callback.number_check",
            on_arrive=_start,
            applies=_sender_is_phone,
            passes_to="other_number",
            section="number",
            routes={"yes": "when", "other": "other_number", "none": "no_number"},
            slot="phone",
            values={"other": None, "none": None},
            on_pick=_use_sender,
        ),
        Ask(
            "other_number",
            "callback.other_number",
            slot="phone",
            section="number",
            parse=answers.phone_number,
            then="when",
            # With no safe number (and no "No number is safe" button when the
            # sender is not a phone), SKIP leads to the helplines.
            skippable=True,
            skip_to="no_number",
        ),
        *time_steps(content, hours, then="voicemail", section="times"),
        Choice(
            "voicemail",
            "callback.voicemail",
            section="contact",
            skippable=True,
            routes={o: "text_first" for o in YES_NO},
            slot="voicemail",
            values=AS_BOOL,
        ),
        Choice(
            "text_first",
            "callback.text_first",
            section="contact",
            skippable=True,
            routes={o: "withheld" for o in YES_NO},
            slot="text_first",
            values=AS_BOOL,
        ),
        Choice(
            "withheld",
            "callback.withheld",
            section="contact",
            skippable=True,
            routes={o: "someone_else" for o in YES_NO},
            slot="withheld",
            values=AS_BOOL,
        ),
        Choice(
            "someone_else",
            "callback.someone_else",
            section="contact",
            skippable=True,
            routes={
                "hang_up": "code_word",
                "wrong_number": "code_word",
                "other": "someone_else_other",
            },
            slot="if_someone_else",
        ),
        Ask(
            "someone_else_other",
            "callback.someone_else_other",
            slot="if_someone_else_note",
            keeps_disclosure=True,
            section="contact",
            skippable=True,
            parse=answers.free_text(200),
            then="code_word",
        ),
        Ask(
            "code_word",
            "callback.code_word",
            slot="code_word",
            section="about",
            skippable=True,
            parse=answers.free_text(40),
            then="name",
        ),
        Ask(
            "name",
            "callback.name",
            slot="name",
            section="about",
            skippable=True,
            parse=answers.free_text(60),
            then="language",
        ),
        Choice(
            "language",
            "callback.language",
            section="about",
            skippable=True,
            routes={"english": "gender", "mine": "interpreter", "other": "language_other"},
            passes_to="gender",
            slot="language",
            shown=_language_options,
            labels=lambda d: {"mine": own_name(d.locale)},
            on_pick=_pick_language,
        ),
        Ask(
            "language_other",
            "callback.language_other",
            slot="language_name",
            section="about",
            skippable=True,
            parse=answers.free_text(40),
            then="interpreter",
        ),
        Choice(
            "interpreter",
            "callback.interpreter",
            section="about",
            skippable=True,
            applies=_not_english,
            passes_to="gender",
            routes={o: "gender" for o in YES_NO},
            slot="interpreter",
            values=AS_BOOL,
        ),
        Choice(
            "gender",
            "callback.gender",
            section="about",
            skippable=True,
            routes={o: "access" for o in ("woman", "man", "either")},
            slot="handler_gender",
        ),
        Choice(
            "access",
            "callback.access",
            section="about",
            skippable=True,
            routes={"none": "area", "bsl": "area", "text_relay": "area", "other": "access_other"},
            slot="access",
        ),
        Ask(
            "access_other",
            "callback.access_other",
            slot="access_note",
            keeps_disclosure=True,
            section="about",
            skippable=True,
            parse=answers.free_text(200),
            then="area",
        ),
        Choice(
            "area",
            "callback.area",
            section="area",
            skippable=True,
            routes={
                "southend": first_urgency,
                "thurrock": first_urgency,
                "essex": "essex_place",
                "outside": first_urgency,
            },
            slot="area",
            values={"essex": None},
        ),
        Ask(
            "essex_place",
            "callback.essex_place",
            slot="area",
            section="area",
            skippable=True,
            parse=answers.place(areas),
            then=first_urgency,
        ),
        *_urgency_steps(content, then="note"),
        Ask(
            "note",
            "callback.note",
            slot="note",
            keeps_disclosure=True,
            section="note",
            skippable=True,
            parse=answers.free_text(500),
            then="summary",
        ),
        Choice(
            "summary",
            "callback.summary",
            routes={"looks_right": "consent", "change": "change"},
            on_arrive=_done_editing,
            params=_summary_params(content, areas),
        ),
        Choice(
            "change",
            "callback.change",
            routes={
                "number": "number_check",
                "times": "when",
                "contact": "voicemail",
                "about": "code_word",
                "note": "note",
            },
            on_pick=lambda d, _option: d.answers.__setitem__("_editing", True),
        ),
        Choice(
            "consent",
            "callback.consent",
            routes={"yes": "confirmed", "no": "declined"},
            params=lambda d: {"days": d.facts.retention_days},
            on_pick=_confirm,
        ),
        Choice(
            "confirmed",
            "callback.confirmed",
            routes={"main_menu": "@menu"},
            params=_confirmation_params(content),
            after_prompt=_forget,
        ),
        Choice(
            "declined",
            "callback.declined",
            after_prompt=_forget,
            routes={"main_menu": "@menu", "ask_call": "number_check"},
        ),
        Choice(
            "no_number",
            "callback.no_number",
            after_prompt=_forget,
            routes={"main_menu": "@menu"},
        ),
    ]
    return Flow(NAME, steps, initial="number_check")
