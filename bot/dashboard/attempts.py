"""Recording call attempts, refusing the ones that would break a safe-contact wish.

The rules: no voicemail unless the person said a voicemail is OK; no text
unless they said a text first is OK; a later call only inside their safe
windows. A refused action goes ahead only when a supervisor gives a written
reason, and that override is audited. Results are codes; the templates say
the sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from bot.dashboard import audit
from bot.dashboard import windows as win
from bot.outbox import drop_pending
from bot.settings import get_settings
from bot.storage import binding, figures
from bot.storage.crypto import Vault
from bot.storage.db import id_of, utc
from bot.storage.models import CallAttempt, CallbackRequest, StaffUser
from bot.storage.requests import request_figures

KINDS = (
    "reached",
    "no_answer",
    "not_safe",
    "someone_else",
    "wrong_number",
    "left_voicemail",
    "sent_text",
    "call_back_later",
    "closed",
)
OUTCOMES = (
    "support_given",
    "referred_idva_marac",
    "refuge",
    "community_support",
    "children_young_people",
    "perpetrator_programme",
    "signposted",
    "declined",
)
# Tries to reach the person, for "time to first attempt" (a text before calling
# and closing are not tries).
TRIES = (
    "reached",
    "no_answer",
    "not_safe",
    "someone_else",
    "wrong_number",
    "left_voicemail",
    "call_back_later",
)
NOTES_LIMIT = 2000
REASON_LIMIT = 500


@dataclass
class Result:
    ok: bool
    refusals: list[str] = field(default_factory=list)  # wishes the action would break
    problems: list[str] = field(default_factory=list)  # input to correct
    overridden: bool = False


def wishes_broken(
    request: CallbackRequest, kind: str, when: datetime | None, hours: list[win.Window]
) -> list[str]:
    """Which of the person's wishes this action would break (codes)."""
    broken = []
    if kind == "left_voicemail" and request.voicemail_ok is not True:
        broken.append("voicemail_not_allowed")
    if kind == "sent_text" and request.text_first_ok is not True:
        broken.append("text_not_allowed")
    if kind == "call_back_later" and when is not None:
        allowed = win.effective(request.safe_windows or [], request.asap, hours)
        if not win.inside(allowed, when):
            broken.append("outside_safe_windows")
    return broken


def record(
    session: Session,
    vault: Vault,
    request: CallbackRequest,
    user: StaffUser,
    *,
    kind: str,
    outcome: str,
    notes: str,
    call_back_local: str,
    override_reason: str,
    now: datetime,
    hours: list[win.Window],
    urgent_priority: int | None = None,
) -> Result:
    """Check and store one attempt in the caller's transaction."""
    problems = []
    if request.status == "cancelled":
        problems.append("cancelled")
    elif request.status != "claimed" or request.claimed_by != user.id:
        problems.append("not_yours")
    if kind not in KINDS:
        problems.append("unknown_kind")
    if outcome and outcome not in OUTCOMES:
        problems.append("unknown_outcome")
    if kind == "closed" and not outcome:
        problems.append("outcome_needed")
    when = None
    if kind == "call_back_later":
        when = win.parse_local(call_back_local) if call_back_local else None
        if when is None:
            problems.append("time_needed")
        elif when <= now:
            problems.append("time_past")
    if len(notes) > NOTES_LIMIT:
        problems.append("notes_too_long")
    if problems:
        return Result(ok=False, problems=problems)

    broken = wishes_broken(request, kind, when, hours)
    reason = override_reason.strip()[:REASON_LIMIT]
    overridden = False
    if broken:
        if user.role != "supervisor" or not reason:
            audit.record(session, "refused", now, user, reference=request.reference, detail=kind)
            result = Result(ok=False, refusals=broken)
            if reason and user.role != "supervisor":
                result.problems.append("only_supervisor")
            return result
        overridden = True
        audit.record(
            session,
            "override",
            now,
            user,
            reference=request.reference,
            detail=",".join(broken),
            reason=reason,
            vault=vault,
        )

    notes = notes.strip()
    count_figures(session, request, kind, outcome, now, urgent_priority)
    attempt = CallAttempt(
        request_id=id_of(request),
        user_id=id_of(user),
        kind=kind,
        outcome=outcome or None,
        call_back_at=when,
        overridden=overridden,
        created_at=now,
    )
    session.add(attempt)
    if notes:  # sealed once the row has the id it is bound to
        session.flush()
        attempt.notes_enc = vault.seal(notes, binding.attempt_notes(id_of(attempt)))
    audit.record(session, "attempt", now, user, reference=request.reference, detail=kind)
    if outcome:
        audit.record(session, "outcome", now, user, reference=request.reference, detail=outcome)
    if kind == "closed":
        request.status, request.claimed_by = "closed", None
        request.claimed_at = request.claim_active_at = None
        if request.id is not None:
            drop_pending(session, request.id)  # a queued "we will call you soon" is void now
    elif kind == "call_back_later":
        request.status, request.claimed_by, request.call_back_at = "open", None, when
        request.claimed_at = request.claim_active_at = None
    else:
        request.claim_active_at = now  # acting on a claim keeps it
    request.updated_at = now
    session.add(request)
    return Result(ok=True, overridden=overridden)


def count_figures(
    session: Session,
    request: CallbackRequest,
    kind: str,
    outcome: str,
    now: datetime,
    urgent_priority: int | None = None,
) -> None:
    """The figures an attempt adds (bot/storage/figures.py), before it is stored:
    the wait to the first try and to reaching the person, an urgent request's
    same-day first try, reached / not reached, and the outcome. Codes only."""
    urgent = get_settings().urgent_priority if urgent_priority is None else urgent_priority
    known = request_figures(request, urgent)
    where = {"area": known["area"], "channel": known["channel"]}
    urgency = known["urgency"]
    earlier = set(
        session.execute(
            select(col(CallAttempt.kind)).where(col(CallAttempt.request_id) == request.id)
        ).scalars()
    )
    waited = (now - utc(request.created_at)).total_seconds() / 60
    if kind in TRIES and not earlier & set(TRIES):
        figures.count(session, "wait_first_attempt", now, minutes=waited, urgency=urgency, **where)
        if urgency == "urgent":
            same_day = figures.local_day(now) == figures.local_day(utc(request.created_at))
            figures.count(session, "urgent_same_day", now, met="yes" if same_day else "no", **where)
    if kind == "reached" and "reached" not in earlier:
        figures.count(session, "wait_reached", now, minutes=waited, urgency=urgency, **where)
        figures.count(session, "callback_result", now, result="reached", urgency=urgency, **where)
    if kind == "closed" and "reached" not in earlier:
        figures.count(
            session, "callback_result", now, result="not_reached", urgency=urgency, **where
        )
    if outcome:
        figures.count(session, "outcome", now, outcome=outcome, urgency=urgency, **where)


@dataclass
class Shown:
    """An attempt as the request page lists it: notes opened only for those who may
    read them; everyone else learns only that notes exist."""

    attempt: CallAttempt
    handler: str
    notes: str
    has_notes: bool = False


def may_read_notes(request: CallbackRequest, reader: StaffUser, attempt: CallAttempt) -> bool:
    """Need-to-know: the handler holding the request, a supervisor, or the note's author."""
    if reader.role == "supervisor" or attempt.user_id == reader.id:
        return True
    return request.status == "claimed" and request.claimed_by == reader.id


def history(
    session: Session, vault: Vault, request: CallbackRequest, reader: StaffUser
) -> list[Shown]:
    rows = session.execute(
        select(CallAttempt, col(StaffUser.name))
        .join(StaffUser, col(StaffUser.id) == col(CallAttempt.user_id))
        .where(col(CallAttempt.request_id) == request.id)
        .order_by(col(CallAttempt.created_at), col(CallAttempt.id))
    ).all()
    return [
        Shown(
            attempt,
            name,
            _notes(vault, attempt) if may_read_notes(request, reader, attempt) else "",
            has_notes=bool(attempt.notes_enc),
        )
        for attempt, name in rows
    ]


def _notes(vault: Vault, attempt: CallAttempt) -> str:
    if not attempt.notes_enc:
        return ""
    return vault.open(attempt.notes_enc, binding.attempt_notes(id_of(attempt)))
