"""Callback requests for one person, inside the transaction handling their message.

This is what flows see as `dialogue.requests`. Personal details (number,
name, code word, notes, access needs) are sealed in `details_enc`; the plain
columns hold only what a queue needs to sort and filter.

"Don't call me" (`cancel`) forgets the personal details at once, in the same
transaction: `details_enc` becomes a sealed empty dict, the handlers' notes
on its call attempts are cleared and everything queued in the outbox for it
is deleted, so nothing can be sent or read for a request the person withdrew.
The row keeps only its plain columns (reference, status, times) so a handler
who had it open sees "cancelled", until the worker deletes it at retention.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from bot.storage import binding, figures
from bot.storage.crypto import Vault
from bot.storage.models import CallAttempt, CallbackRequest, IssuedReference, Outbox

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
OPEN_STATUSES = ("open", "claimed")
SIGNAL_CODES = ("danger_now", "crisis", "child", "harm_risk")  # the screen's signals
# Requests made in the simulator are practice: kept out of the real queue (and
# "Take next") and never announced to the staff chat, so a public development
# instance cannot fill the staff queue with urgent requests.
PRACTICE_CHANNEL = "simulator"
PERSONAL = (
    "phone",
    "name",
    "code_word",
    "note",
    "if_someone_else_note",
    "access",
    "access_note",
    "language_name",
    "quiet_word",
)


def new_reference(prefix: str) -> str:
    return f"{prefix}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(4))


class RequestStore:
    def __init__(
        self,
        session: Session,
        vault: Vault,
        person_key: str,
        channel: str,
        now: datetime,
        retention_days: int,
        reference_prefix: str,
        teams: dict[str, str],
        on_create: Callable[[Session, CallbackRequest, datetime], Any] | None = None,
        urgent_priority: int = 3,
    ) -> None:
        """`on_create` runs inside the same transaction as a new request (the
        engine uses it to queue the staff notice for an urgent one)."""
        self.session = session
        self.vault = vault
        self.person_key = person_key
        self.channel = channel
        self.now = now
        self.retention = timedelta(days=retention_days)
        self.prefix = reference_prefix
        self.teams = teams
        self.on_create = on_create
        self.urgent_priority = urgent_priority
        self._open: CallbackRequest | None = None
        self._looked = False

    def _find_open(self) -> CallbackRequest | None:
        if not self._looked:
            self._looked = True
            self._open = self.session.execute(
                select(CallbackRequest)
                .where(col(CallbackRequest.person_key) == self.person_key)
                .where(col(CallbackRequest.status).in_(OPEN_STATUSES))
                .order_by(col(CallbackRequest.created_at).desc())
                .limit(1)
            ).scalar_one_or_none()
        return self._open

    def open_request(self) -> dict[str, Any] | None:
        found = self._find_open()
        if found is None:
            return None
        return {
            "reference": found.reference,
            "status": found.status,
            "asap": found.asap,
            "safe_windows": list(found.safe_windows or []),
        }

    def create(
        self,
        route: str,
        answers: dict[str, Any],
        priority: int,
        flags: list[str] | None = None,
        triage: list[str] | None = None,
        complete: bool = True,
    ) -> str:
        """A new request; `flags` are the safety screen's codes and `triage` the
        triage questions answered yes (codes, never words). `complete=False`
        queues it as "details still coming" while the person answers on.

        An unfinished request of theirs from an earlier visit (left with EXIT,
        or by going quiet) is the one the new answers fill, so the queue never
        holds two requests, and two calls, for one person."""
        unfinished = self._find_open()
        before = self._figures(unfinished) if unfinished is not None else None
        if (
            unfinished is not None
            and not unfinished.complete
            and self.update(unfinished.reference, answers, priority, flags, triage, complete)
        ):
            unfinished.route = route
            self._recount(unfinished, before)
            return unfinished.reference
        reference = self._unused_reference()
        request = CallbackRequest(
            reference=reference,
            person_key=self.person_key,
            channel=self.channel,
            route=route,
            status="open",
            details_enc=b"",
            created_at=self.now,
            updated_at=self.now,
            retain_until=self.now + self.retention,
        )
        self._fill(request, answers, priority, flags, triage, complete)
        self.session.add(request)
        self.session.flush()
        self._recount(request, None)
        if self.on_create is not None:
            self.on_create(self.session, request, self.now)
        self._open, self._looked = request, True
        return reference

    def update(
        self,
        reference: str,
        answers: dict[str, Any],
        priority: int,
        flags: list[str] | None = None,
        triage: list[str] | None = None,
        complete: bool = False,
    ) -> bool:
        """Each later answer of a saved request; False when it is no longer open
        (cancelled, closed) so nothing is rewritten behind a handler's back."""
        found = self.session.execute(
            select(CallbackRequest)
            .where(col(CallbackRequest.reference) == reference)
            .where(col(CallbackRequest.person_key) == self.person_key)
            .where(col(CallbackRequest.status).in_(OPEN_STATUSES))
        ).scalar_one_or_none()
        if found is None:
            return False
        was_urgent = found.priority >= self.urgent_priority
        before = self._figures(found)
        merged = sorted(set(found.safety_flags or []) | set(flags or []))
        self._fill(found, answers, priority, merged, triage, complete)
        found.updated_at = self.now
        self.session.add(found)
        self._recount(found, before)
        if not was_urgent and found.priority >= self.urgent_priority and self.on_create:
            # Newly urgent from a triage answer: the same staff notice as a new one.
            self.session.flush()
            self.on_create(self.session, found, self.now)
        return True

    def _fill(
        self,
        request: CallbackRequest,
        answers: dict[str, Any],
        priority: int,
        flags: list[str] | None,
        triage: list[str] | None,
        complete: bool,
    ) -> None:
        area = answers.get("area")
        request.area = area
        request.team = self.teams.get(area or "")
        request.language = answers.get("language") or "en"
        request.interpreter = bool(answers.get("interpreter"))
        request.handler_gender = answers.get("handler_gender")
        request.priority = priority
        request.safety_flags = sorted(set(flags or []))
        request.triage = list(triage or [])
        request.complete = complete
        request.asap = bool(answers.get("asap", True))
        request.safe_windows = answers.get("windows") or []
        request.voicemail_ok = answers.get("voicemail")
        request.text_first_ok = answers.get("text_first")
        request.withheld_ok = answers.get("withheld")
        request.if_someone_else = answers.get("if_someone_else")
        request.details_enc = self.vault.seal(
            {k: answers[k] for k in PERSONAL if answers.get(k)},
            binding.request_details(request.reference),
        )

    def _unused_reference(self) -> str:
        """A reference never given before, even to a request long deleted; it is
        recorded as given in the transaction that creates the request."""
        while True:
            reference = new_reference(self.prefix)
            if self.session.get(IssuedReference, reference) is None:
                self.session.add(IssuedReference(reference=reference))
                return reference

    def change_times(self, asap: bool, windows: list[dict[str, str]]) -> bool:
        found = self._find_open()
        if found is None:
            return False
        found.asap, found.safe_windows, found.updated_at = asap, list(windows), self.now
        self.session.add(found)
        return True

    def flag(self, codes: list[str], urgent_priority: int) -> bool:
        """Add safety codes to the person's open request; a signal makes it urgent."""
        found = self._find_open()
        if found is None or not codes:
            return False
        before = self._figures(found)
        merged = sorted(set(found.safety_flags or []) | set(codes))
        if merged != list(found.safety_flags or []):
            found.safety_flags = merged
            found.updated_at = self.now
        became_urgent = False
        if any(c in SIGNAL_CODES for c in codes) and found.priority < urgent_priority:
            found.priority, became_urgent = urgent_priority, True
        self.session.add(found)
        self._recount(found, before)
        if became_urgent and self.on_create is not None:
            # Newly urgent: the same staff notice a new urgent request gets
            # (queued once per reference, so a second signal adds nothing).
            self.session.flush()
            self.on_create(self.session, found, self.now)
        return True

    def withdraw(self, reference: str) -> bool:
        """A request still being made is withdrawn (no safe number after all,
        or consent refused on a second try): forget it like a cancellation."""
        found = self.session.execute(
            select(CallbackRequest)
            .where(col(CallbackRequest.reference) == reference)
            .where(col(CallbackRequest.person_key) == self.person_key)
            .where(col(CallbackRequest.status).in_(OPEN_STATUSES))
        ).scalar_one_or_none()
        if found is None:
            return False
        self._open, self._looked = found, True
        return self.cancel()

    def cancel(self) -> bool:
        """The person withdrew their request: forget its personal data now."""
        found = self._find_open()
        if found is None:
            return False
        found.status, found.updated_at = "cancelled", self.now
        found.details_enc = self.vault.seal({}, binding.request_details(found.reference))
        self.session.add(found)
        forget_request_data(self.session, found.id)
        count_cancelled(self.session, found, self.now, self.urgent_priority)
        self._open = None
        return True

    def _figures(self, request: CallbackRequest) -> dict[str, Any]:
        """What the figures count a request under (codes only, no reference)."""
        return request_figures(request, self.urgent_priority)

    def _recount(self, request: CallbackRequest, before: dict[str, Any] | None) -> None:
        """Count a new request in the figures, on the day it was made; a later
        answer that changes its area, district, language, route or urgency moves
        it from the old counts to the new ones, so each request counts once."""
        after = self._figures(request)
        if after == before:
            return
        when = request.created_at
        if before is not None:
            figures.count(self.session, "callback_requested", when, n=-1, **before)
        figures.count(self.session, "callback_requested", when, **after)


def request_figures(request: CallbackRequest, urgent_priority: int) -> dict[str, Any]:
    """A request's area, urgency, district, channel, route and language as the
    figures count them (bot/storage/figures.py)."""
    return {
        "area": figures.commissioning_area(request.area),
        "urgency": "urgent" if request.priority >= urgent_priority else "standard",
        "district": request.area or "not_given",
        "channel": request.channel,
        "route": request.route,
        "language": request.language,
    }


def count_cancelled(
    session: Session, request: CallbackRequest, now: datetime, urgent_priority: int
) -> None:
    """A request the person withdrew, in the figures (no reference, no person)."""
    known = request_figures(request, urgent_priority)
    figures.count(
        session,
        "callback_result",
        now,
        area=known["area"],
        channel=known["channel"],
        result="cancelled",
        urgency=known["urgency"],
    )


def forget_request_data(session: Session, request_id: int | None) -> None:
    """Delete what a withdrawn request left elsewhere: its outbox rows (sealed
    number and text, whatever their status) and its handlers' sealed notes."""
    if request_id is None:
        return
    session.execute(delete(Outbox).where(col(Outbox.request_id) == request_id))
    session.execute(
        update(CallAttempt)
        .where(col(CallAttempt.request_id) == request_id)
        .where(col(CallAttempt.notes_enc).is_not(None))
        .values(notes_enc=None)
    )
