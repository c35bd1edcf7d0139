"""Asking for a call back, with every safe-contact check, one question a message.

Order: consent (with how long we keep the answers), safe number, safe time,
then triage (bot/flows/triage.py), then the practical questions (voicemail,
texts, withheld number, what to do if someone else answers, code word, a
word for "I can't talk", name, language and interpreter, handler gender,
access needs, area, a short note); then a plain summary and a reference.

Once consent, a safe number and a safe time are given the request is saved
and queued as "details still coming"; every later answer updates it, and
"That's right" at the summary marks it complete. A person who stops half way
(EXIT, silence) still leaves the handler what they need to call safely.
Declining consent keeps nothing. Any question but consent can be skipped;
the route (me, someone else, own behaviour, professional) decides which apply.
"""

from __future__ import annotations

from typing import Any

from bot.content.model import Content
from bot.dialogue import Dialogue
from bot.flows import answers, triage
from bot.flows.base import Ask, Choice, Flow, Step
from bot.flows.language import own_name
from bot.flows.safe_times import Hours, describe, time_steps

NAME = "callback"
YES_NO = ("yes", "no")
AS_BOOL = {"yes": True, "no": False}
UNDER_16 = "@info:young.under_16"  # Childline, 999, a trusted adult: no adult callback
# The practical questions after triage, as counted for the consent's {count}.
PRACTICAL = (
    "voicemail",
    "text_first",
    "withheld",
    "someone_else",
    "code_word",
    "quiet_word",
    "name",
    "language",
    "gender",
    "access",
    "area",
    "note",
)
route = triage.route


def _under_16(d: Dialogue) -> bool:
    return d.slots.get("age_group") == "under_16"


def _adult_consent(d: Dialogue) -> bool:
    return not _under_16(d) and not triage.is_young(d)


def _young_consent(d: Dialogue) -> bool:
    return not _under_16(d) and triage.is_young(d)


def _quiet_word_applies(d: Dialogue) -> bool:
    return route(d) in ("me", "someone_else")


def _sender_is_phone(d: Dialogue) -> bool:
    return d.facts.sender_is_phone


def _use_sender(d: Dialogue, option: str) -> None:
    d.notes.phone_unsure = False
    if option == "yes":
        d.answers["phone"] = d.facts.sender_address
    else:
        d.answers.pop("phone", None)


def _phone_unsure(d: Dialogue) -> bool:
    return d.notes.phone_unsure


def _number_checked(d: Dialogue, option: str) -> None:
    d.notes.phone_unsure = False
    if option == "no":
        d.answers.pop("phone", None)


def _not_english(d: Dialogue) -> bool:
    return d.answers.get("language") not in (None, "en")


def _language_options(d: Dialogue) -> list[str]:
    return ["english", "mine", "other"] if d.locale != "en" else ["english", "other"]


def _pick_language(d: Dialogue, option: str) -> None:
    d.answers["language"] = {"english": "en", "mine": d.locale}.get(option, "other")


def _start(d: Dialogue) -> None:
    """A fresh request each time the flow starts from its first question; a
    request saved earlier in this conversation and not confirmed is the one
    the new answers update (so going to the menu and back makes no twin)."""
    if not d.editing:
        draft = None if d.notes.confirmed else d.notes.reference
        d.clear_answers().reference = draft


def _count(content: Content, steps: dict[str, Step]):  # noqa: ANN202
    """The consent's {count}: the questions that apply to this person's route."""

    def params(d: Dialogue) -> dict[str, Any]:
        tests = [steps[name].applies for name in PRACTICAL]
        practical = sum(1 for applies in tests if applies is None or applies(d))
        count = 2 + triage.count(content, d) + 1 + practical  # number, time, triage, "more"
        return {"count": count, "days": d.facts.retention_days}

    return params


def _public(d: Dialogue) -> dict[str, Any]:
    """The answers a request keeps (a stray private key from an old draft never goes)."""
    return {k: v for k, v in d.answers.items() if not k.startswith("_")}


def _save(content: Content):  # noqa: ANN202
    """Once consent, a safe number and a safe time are given, keep the request
    up to date with every answer ("details still coming" until confirmed)."""

    def save(d: Dialogue, complete: bool = False) -> None:
        a, notes = d.answers, d.notes
        if not a.get("phone") or "asap" not in a or notes.confirmed:
            return
        public = _public(d)
        priority = triage.priority(content, d)
        said = triage.yes_codes(d)
        flags = d.safety_codes
        seen = repr((sorted(public.items(), key=str), priority, said, flags, complete))
        if notes.saved == seen:
            return
        ref = notes.reference
        if not ref or not d.requests.update(ref, public, priority, flags, said, complete):
            # New, or the saved one was closed or cancelled meanwhile: a new request.
            notes.reference = d.requests.create(route(d), public, priority, flags, said, complete)
        notes.saved = seen

    return save


def _summary_params(content: Content, areas: dict[str, Any]):  # noqa: ANN202
    def params(d: Dialogue) -> dict[str, Any]:
        a = d.answers
        yes_no = {True: "yes", False: "no", None: "skipped"}
        area = areas.get(a.get("area") or "", {}).get("name")
        if a.get("area") == "outside":
            area = content.label("callback.area", "outside", d.locale)
        given = [k for k in ("code_word", "name") if a.get(k)]
        words = {2: "both", 1: given[0] if given else ""}.get(len(given))
        return {
            "times": describe(content, a.get("windows", []), a.get("asap", True), d.locale),
            "voicemail": content.text(f"callback.value_{yes_no[a.get('voicemail')]}", d.locale),
            "texts": content.text(f"callback.value_{yes_no[a.get('text_first')]}", d.locale),
            "area": area or content.text("callback.value_skipped", d.locale),
            "words": content.text(f"callback.summary_words_{words}", d.locale) if words else "",
        }

    return params


def _done_editing(d: Dialogue) -> None:
    """Back at the summary, a change of one section is finished."""
    d.notes.editing = False


def _start_editing(d: Dialogue, _option: str) -> None:
    """One section is changed from the summary: its last step returns there."""
    d.notes.editing = True


def _has_reference(d: Dialogue) -> bool:
    return bool(d.notes.reference)


def _complete(content: Content):  # noqa: ANN202
    save = _save(content)

    def complete(d: Dialogue, option: str) -> None:
        if option != "looks_right" or not _has_reference(d):
            return
        save(d, complete=True)
        a = d.answers
        # No code word: a PIN opens "my request" later (bot/flows/my_request.py).
        pin = d.access.issue_pin() if d.access is not None and not a.get("code_word") else None
        if pin:
            d.say("my_request.pin", {"pin": pin})
        d.notes.confirmed = {
            "reference": d.notes.reference or "",
            "when": describe(content, a.get("windows", []), a.get("asap", True), d.locale),
        }

    return complete


def _confirmed_params(d: Dialogue) -> dict[str, Any]:
    """From what was kept at confirmation, so an old button can never show an
    empty reference (see _forget)."""
    return dict(d.notes.confirmed or {"reference": "", "when": ""})


def _closed_now(hours: Hours):  # noqa: ANN202
    def arrive(d: Dialogue) -> None:
        if d.notes.confirmed and not hours.is_open(d.facts.now):
            d.say("callback.closed_now")

    return arrive


def _forget(d: Dialogue) -> None:
    """After the confirmation only its reference and time stay, for a repeat."""
    kept = d.notes.confirmed
    d.clear_answers().confirmed = kept


def _drop_draft(d: Dialogue) -> None:
    """No safe number, or no consent, after all: a saved draft is withdrawn
    and nothing is kept."""
    notes = d.notes
    if notes.reference and not notes.confirmed:
        d.requests.withdraw(notes.reference)
    d.clear_answers()


def build(content: Content) -> Flow:
    hours = Hours(content.data.get("service", {}))
    areas = content.data.get("areas", {}).get("areas", {})
    save = _save(content)

    def back_at_summary(d: Dialogue) -> None:
        _done_editing(d)
        save(d)

    asked = triage.questions(content)
    first_triage = asked[0][0] if asked else "more"
    steps: list[Step] = [
        Choice(
            "consent",
            "callback.consent",
            on_arrive=_start,
            applies=_adult_consent,
            passes_to="consent_young",
            routes={"yes": "number_check", "no": "declined", "text_worker": "@live_chat"},
        ),
        Choice(
            "consent_young",
            "callback.consent_young",
            applies=_young_consent,
            passes_to=UNDER_16,
            routes={"yes": "number_check", "no": "declined", "text_worker": "@live_chat"},
        ),
        Choice(
            "number_check",
            "callback.number_check",
            applies=_sender_is_phone,
            passes_to="other_number",
            section="reach",
            routes={"yes": "when", "other": "other_number", "none": "no_number"},
            slot="phone",
            values={"other": None, "none": None},
            on_pick=_use_sender,
        ),
        Ask(
            "other_number",
            "callback.other_number",
            slot="phone",
            section="reach",
            parse=answers.phone_number,
            then="number_confirm",
            # With no safe number (and no "No number is safe" button when the
            # sender is not a phone), SKIP leads to the helplines.
            skippable=True,
            skip_to="no_number",
        ),
        Choice(
            "number_confirm",
            "callback.number_confirm",
            applies=_phone_unsure,
            passes_to="when",
            section="reach",
            routes={"yes": "when", "no": "other_number"},
            on_pick=_number_checked,
            params=lambda d: {"number": answers.shown_number(d.answers.get("phone") or "")},
        ),
        *time_steps(content, hours, then=first_triage, section="reach"),
        *triage.steps(content, then="more", skip_all="more", arrive=save),
        Choice(
            "more",
            "callback.more",
            on_arrive=save,
            section="more",
            skippable=True,  # SKIP here skips the rest: the request goes as it is
            passes_to="summary",
            routes={"more": "voicemail", "send": "summary"},
        ),
        Choice(
            "voicemail",
            "callback.voicemail",
            on_arrive=save,
            section="contact",
            skippable=True,
            routes={o: "text_first" for o in YES_NO},
            slot="voicemail",
            values=AS_BOOL,
        ),
        Choice(
            "text_first",
            "callback.text_first",
            on_arrive=save,
            section="contact",
            skippable=True,
            routes={o: "withheld" for o in YES_NO},
            slot="text_first",
            values=AS_BOOL,
            params=lambda d: {"text": content.text("notices.text_before_call", d.locale)},
        ),
        Choice(
            "withheld",
            "callback.withheld",
            on_arrive=save,
            section="contact",
            skippable=True,
            routes={o: "someone_else" for o in YES_NO},
            slot="withheld",
            values=AS_BOOL,
        ),
        Choice(
            "someone_else",
            "callback.someone_else",
            on_arrive=save,
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
            on_arrive=save,
            slot="code_word",
            section="about",
            skippable=True,
            parse=answers.free_text(40),
            then="quiet_word",
        ),
        Ask(
            "quiet_word",
            "callback.quiet_word",
            on_arrive=save,
            applies=_quiet_word_applies,
            passes_to="name",
            slot="quiet_word",
            section="about",
            skippable=True,
            parse=answers.free_text(40),
            then="name",
        ),
        Ask(
            "name",
            "callback.name",
            on_arrive=save,
            slot="name",
            section="about",
            skippable=True,
            parse=answers.free_text(60),
            then="language",
        ),
        Choice(
            "language",
            "callback.language",
            on_arrive=save,
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
            on_arrive=save,
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
            on_arrive=save,
            section="about",
            skippable=True,
            routes={o: "access" for o in ("woman", "man", "either")},
            slot="handler_gender",
        ),
        Choice(
            "access",
            "callback.access",
            on_arrive=save,
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
            on_arrive=save,
            section="about",
            skippable=True,
            routes={
                "southend": "note",
                "thurrock": "note",
                "essex": "essex_place",
                "outside": "note",
            },
            slot="area",
            values={"essex": None},
        ),
        Ask(
            "essex_place",
            "callback.essex_place",
            slot="area",
            section="about",
            skippable=True,
            parse=answers.place(areas),
            then="note",
        ),
        Ask(
            "note",
            "callback.note",
            on_arrive=save,
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
            routes={
                "looks_right": [(_has_reference, "confirmed"), (None, "consent")],
                "change": "change",
            },
            on_arrive=back_at_summary,
            on_pick=_complete(content),
            params=_summary_params(content, areas),
        ),
        Choice(
            "change",
            "callback.change",
            routes={
                "reach": "number_check",
                "safety": first_triage,
                "contact": "voicemail",
                "about": "code_word",
                "note": "note",
            },
            on_pick=_start_editing,
        ),
        Choice(
            "confirmed",
            "callback.confirmed",
            routes={"main_menu": "@menu"},
            on_arrive=_closed_now(hours),
            params=_confirmed_params,
            after_prompt=_forget,
        ),
        Choice(
            "declined",
            "callback.declined",
            on_arrive=_drop_draft,
            routes={"main_menu": "@menu", "ask_call": "consent"},
        ),
        Choice(
            "no_number",
            "callback.no_number",
            on_arrive=_drop_draft,
            routes={"text_worker": "@live_chat", "main_menu": "@menu"},
        ),
    ]
    by_name = {step.name: step for step in steps}
    by_name["consent"].params = by_name["consent_young"].params = _count(content, by_name)
    return Flow(NAME, steps, initial="consent")
