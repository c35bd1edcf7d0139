"""The second factor for staff: a TOTP code from an app, or a one-time recovery code.

The TOTP secret is sealed with the Vault, bound to its account's row. A code
is accepted for the current 30-second step or one either side (clock drift),
and only for a step later than the last one accepted, claimed by one
conditional UPDATE, so a code seen over a shoulder cannot be used again even
by two browsers at once. Recovery codes are hashed with argon2id and spent
by another conditional UPDATE.
"""

from __future__ import annotations

import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, or_, select, update
from sqlmodel import Session, col

from bot.dashboard.auth import HASHER
from bot.settings import Settings
from bot.storage import binding
from bot.storage.crypto import Vault
from bot.storage.db import id_of, rowcount
from bot.storage.models import StaffPending, StaffRecoveryCode, StaffUser

ISSUER = "Front Door"
STEP = 30
DRIFT = 1  # steps accepted either side of now
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


@dataclass
class Enrolment:
    """What a person needs once, at enrolment: the key, its QR link, recovery codes."""

    secret: str
    uri: str
    codes: list[str]


def production(settings: Settings) -> bool:
    return settings.frontdoor_env == "production"


def enrolled(user: StaffUser) -> bool:
    return user.totp_enc is not None


def must_enrol(settings: Settings, user: StaffUser) -> bool:
    """An account without a factor enrols at sign-in in production, or after a reset."""
    return not enrolled(user) and (production(settings) or user.needs_enrolment)


def new_secret() -> str:
    return pyotp.random_base32()


def uri_for(name: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)


def qr_terminal(uri: str) -> str:
    """The QR code as text for a terminal (two rows of modules per line)."""
    out = io.StringIO()
    segno.make(uri, error="m").terminal(out=out, compact=True)
    return out.getvalue()


def qr_svg(uri: str) -> str:
    """The QR code as inline SVG markup for the enrolment page (no script, no data: URL)."""
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff")


def step_of(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code `code` is, within the allowed drift, or None."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP
    for step in range(current - DRIFT, current + DRIFT + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def _claim_step(session: Session, user: StaffUser, step: int) -> bool:
    """Take `step` as used, once: True only for the first caller with a later step."""
    done = rowcount(
        session.execute(
            update(StaffUser)
            .where(
                col(StaffUser.id) == user.id,
                or_(col(StaffUser.totp_last_step).is_(None), col(StaffUser.totp_last_step) < step),
            )
            .values(totp_last_step=step)
        )
    )
    return done == 1


def secret_of(vault: Vault, user: StaffUser) -> str:
    if user.totp_enc is None:
        raise ValueError("this account has no second factor enrolled")
    return vault.open(user.totp_enc, binding.staff_totp(id_of(user)))


def accept_code(
    session: Session, vault: Vault, user: StaffUser, code: str, now: datetime
) -> str | None:
    """The way a code was accepted: "totp" (a right code not used before),
    "recovery" (an unspent recovery code) or None.
    """
    if not enrolled(user):
        return None
    step = step_of(secret_of(vault, user), code, now)
    if step is not None:
        return "totp" if _claim_step(session, user, step) else None
    return "recovery" if use_recovery_code(session, user, code, now) else None


def _normal_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def use_recovery_code(session: Session, user: StaffUser, code: str, now: datetime) -> bool:
    given = _normal_code(code)
    if len(given) != 10:
        return False
    rows = session.execute(
        select(StaffRecoveryCode).where(
            col(StaffRecoveryCode.user_id) == user.id, col(StaffRecoveryCode.used_at).is_(None)
        )
    ).scalars()
    for row in list(rows):
        try:
            HASHER.verify(row.code_hash, given)
        except Exception:  # noqa: BLE001 - argon2 raises one of several on a mismatch
            continue
        spent = rowcount(
            session.execute(
                update(StaffRecoveryCode)
                .where(
                    col(StaffRecoveryCode.id) == row.id, col(StaffRecoveryCode.used_at).is_(None)
                )
                .values(used_at=now)
            )
        )
        return spent == 1
    return False


def recovery_left(session: Session, user: StaffUser) -> int:
    return len(
        session.execute(
            select(col(StaffRecoveryCode.id)).where(
                col(StaffRecoveryCode.user_id) == user.id,
                col(StaffRecoveryCode.used_at).is_(None),
            )
        ).all()
    )


def new_recovery_codes(session: Session, user: StaffUser) -> list[str]:
    """Ten fresh codes (shown once); any earlier codes stop working."""
    session.execute(delete(StaffRecoveryCode).where(col(StaffRecoveryCode.user_id) == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        plain = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        session.add(StaffRecoveryCode(user_id=id_of(user), code_hash=HASHER.hash(plain)))
        codes.append(f"{plain[:5]}-{plain[5:]}")
    return codes


def install(session: Session, vault: Vault, user: StaffUser, secret: str) -> list[str]:
    """Make `secret` the account's factor and give it new recovery codes."""
    user.totp_enc = vault.seal(secret, binding.staff_totp(id_of(user)))
    user.totp_last_step = None
    user.needs_enrolment = False
    session.add(user)
    return new_recovery_codes(session, user)


def enrol(session: Session, vault: Vault, user: StaffUser) -> Enrolment:
    """Enrol at once (the command line): a new key, its link and recovery codes."""
    secret = new_secret()
    codes = install(session, vault, user, secret)
    return Enrolment(secret, uri_for(user.name, secret), codes)


def reset(session: Session, user: StaffUser) -> None:
    """Remove the account's factor: it enrols again at its next sign-in."""
    user.totp_enc = None
    user.totp_last_step = None
    user.needs_enrolment = True
    session.add(user)
    session.execute(delete(StaffRecoveryCode).where(col(StaffRecoveryCode.user_id) == user.id))
    session.execute(delete(StaffPending).where(col(StaffPending.user_id) == user.id))


def pending_secret(vault: Vault, row: StaffPending) -> str:
    """The secret being enrolled in this half-sign-in, made on first use."""
    context = binding.pending_secret(row.token_hash)
    if row.secret_enc is None:
        row.secret_enc = vault.seal(new_secret(), context)
    return vault.open(row.secret_enc, context)


def confirm_enrolment(
    session: Session, vault: Vault, row: StaffPending, user: StaffUser, code: str, now: datetime
) -> list[str] | None:
    """Install the pending secret once a code from it is given; the recovery codes."""
    secret = pending_secret(vault, row)
    step = step_of(secret, code, now)
    if step is None:
        return None
    codes = install(session, vault, user, secret)
    user.totp_last_step = step
    session.add(user)
    return codes
