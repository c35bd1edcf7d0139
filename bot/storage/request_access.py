"""The gate in front of a returning person's request: it opens only for whoever
gives its code word (or the PIN offered to someone who chose none).

Code words are compared forgivingly (case, spaces, punctuation, accents) but
only as keyed hashes, in constant time: the word a person chose stays sealed
in the request's details and the PIN is stored only as a keyed hash.

Wrong words are counted per sender, whether or not a request exists, and the
replies are the same either way, so someone holding the phone learns nothing
from trying. Too many wrong words lock the sender out for a while; the request
they were aimed at (if any) is marked on the dashboard, audited and announced
to the staff chat, so its handler knows someone else may hold the phone.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlmodel import Session, col

from bot.storage import binding
from bot.storage.crypto import Vault
from bot.storage.db import rowcount, utc
from bot.storage.models import CallbackRequest, CodeWordLock
from bot.storage.requests import OPEN_STATUSES, count_cancelled, forget_request_data
from bot.text import normalise

PIN_DIGITS = 4
EMERGENCY_NUMBERS = ("999", "112", "911")
Outcome = Literal["opened", "wrong", "locked"]
OnLock = Callable[[Session, CallbackRequest, datetime], Any]


def new_pin() -> str:
    """Four random digits that never look like an emergency number when typed
    (999, 112, 911), so the person typing it is not mistaken for a 999 call."""
    while True:
        pin = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))
        if not any(number in pin for number in EMERGENCY_NUMBERS):
            return pin


def comparable(word: str) -> str:
    """A code word as compared: no case, accents, punctuation or spaces."""
    return "".join(normalise(word).split())


@dataclass(frozen=True)
class Attempt:
    """What a code word did: opened a request (its reference), or did not."""

    outcome: Outcome
    reference: str | None = None


class RequestAccess:
    """One sender's way into callback requests, inside their message's transaction."""

    def __init__(
        self,
        session: Session,
        vault: Vault,
        person_key: str,
        channel: str,
        now: datetime,
        tries: int = 3,
        lock_minutes: int = 60,
        on_lock: OnLock | None = None,
        urgent_priority: int = 3,
    ) -> None:
        """`on_lock` runs in the same transaction when a sender is locked out of
        a request (the engine uses it for the audit event and staff notice)."""
        self.urgent_priority = urgent_priority  # for the figures' "urgent" count
        self.session = session
        self.vault = vault
        self.person_key = person_key
        self.channel = channel
        self.now = now
        self.tries = tries
        self.lock = timedelta(minutes=lock_minutes)
        self.on_lock = on_lock

    # ----- hashing ----------------------------------------------------------
    def _digest(self, reference: str, kind: str, word: str) -> str:
        """A keyed hash bound to one request, so equal words never hash alike."""
        return self.vault.person_key(f"gate\x00{kind}\x00{reference}", comparable(word))

    # ----- finding requests ---------------------------------------------------
    def _own(self) -> CallbackRequest | None:
        return self.session.execute(
            select(CallbackRequest)
            .where(col(CallbackRequest.person_key) == self.person_key)
            .where(col(CallbackRequest.status).in_(OPEN_STATUSES))
            .order_by(col(CallbackRequest.created_at).desc())
            .limit(1)
        ).scalar_one_or_none()

    def _by_reference(self, reference: str) -> CallbackRequest | None:
        return self.session.execute(
            select(CallbackRequest)
            .where(col(CallbackRequest.reference) == reference.upper())
            .where(col(CallbackRequest.status).in_(OPEN_STATUSES))
        ).scalar_one_or_none()

    def _details(self, request: CallbackRequest) -> dict[str, Any]:
        return self.vault.open(request.details_enc, binding.request_details(request.reference))

    # ----- the PIN ----------------------------------------------------------
    def issue_pin(self) -> str | None:
        """A fresh PIN for the sender's open request when it has no code word;
        None when it has one (or there is no open request). Only its keyed
        hash is kept, so the PIN is shown once, in the reply that offers it."""
        request = self._own()
        if request is None or self._details(request).get("code_word"):
            return None
        pin = new_pin()
        request.pin_hash = self._digest(request.reference, "pin", pin)
        self.session.add(request)
        return pin

    # ----- trying a word ------------------------------------------------------
    def try_word(self, word: str, reference: str | None = None) -> Attempt:
        """Open the request named by `reference` (from any sender) or the
        sender's own open request, if `word` is its code word or PIN."""
        forget_stale_locks(self.session, self.now, self.lock)
        lock = self.session.get(CodeWordLock, self.person_key)
        if lock is not None and lock.locked_until and utc(lock.locked_until) > self.now:
            return Attempt("locked")
        request = self._by_reference(reference) if reference else self._own()
        if self._matches(request, word) and request is not None:  # always checks both
            if lock is not None:
                self.session.delete(lock)
            return Attempt("opened", request.reference)
        return self._wrong(lock, request)

    def _matches(self, request: CallbackRequest | None, word: str) -> bool:
        """Both stored secrets are checked every time, each in constant time, and
        the same work is done when there is no request at all."""
        reference = request.reference if request is not None else "-"
        sealed = (self._details(request).get("code_word") or "") if request is not None else ""
        pin_hash = (request.pin_hash if request is not None else None) or ""
        given_word = self._digest(reference, "word", word)
        given_pin = self._digest(reference, "pin", word)
        chosen = self._digest(reference, "word", sealed)
        by_word = hmac.compare_digest(given_word, chosen) and bool(comparable(sealed))
        by_pin = hmac.compare_digest(given_pin, pin_hash) and bool(pin_hash)
        return request is not None and (by_word or by_pin)

    def _wrong(self, lock: CodeWordLock | None, request: CallbackRequest | None) -> Attempt:
        if lock is None:
            lock = CodeWordLock(person_key=self.person_key, failures=0, counted_since=self.now)
        elif utc(lock.counted_since) + self.lock <= self.now:
            lock.failures, lock.counted_since, lock.locked_until = 0, self.now, None
        lock.failures += 1
        if lock.failures < self.tries:
            self.session.add(lock)
            return Attempt("wrong")
        lock.locked_until = self.now + self.lock
        self.session.add(lock)
        if request is not None:
            request.gate_locked_at = self.now
            self.session.add(request)
            self.session.flush()
            if self.on_lock is not None:
                self.on_lock(self.session, request, self.now)
        return Attempt("locked")

    # ----- an opened request ----------------------------------------------------
    def status(self, reference: str) -> dict[str, Any] | None:
        """What the person may see once the gate opened (None: no longer open)."""
        request = self._by_reference(reference)
        if request is None:
            return None
        return {
            "reference": request.reference,
            "status": request.status,
            "asap": request.asap,
            "safe_windows": list(request.safe_windows or []),
            "own": request.person_key == self.person_key,
        }

    def cancel(self, reference: str) -> bool:
        """Withdraw an opened request ("Don't call me"), from its own or a new
        number: its personal details are forgotten at once, as in RequestStore."""
        request = self._by_reference(reference)
        if request is None:
            return False
        request.status, request.updated_at = "cancelled", self.now
        request.details_enc = self.vault.seal({}, binding.request_details(request.reference))
        request.pin_hash = None
        self.session.add(request)
        forget_request_data(self.session, request.id)
        count_cancelled(self.session, request, self.now, self.urgent_priority)
        return True


def forget_stale_locks(session: Session, now: datetime, lock: timedelta) -> int:
    """Counts and locks older than the lock time tell nothing any more: delete
    them (on every try, and by the worker); returns how many went."""
    result = session.execute(
        delete(CodeWordLock)
        .where(col(CodeWordLock.counted_since) < now - lock)
        .where(col(CodeWordLock.locked_until).is_(None) | (col(CodeWordLock.locked_until) < now))
    )
    return int(rowcount(result) or 0)
