"""Re-seal every sealed value under the current key (`frontdoor keys rotate`).

Run with the new secret as FRONTDOOR_SECRET and the old one in
FRONTDOOR_OLD_SECRETS. Each row is read and written on its own terms: a row
already under the current key is skipped, so a run stopped halfway is simply
run again; a row no configured key opens is counted and left as it is; a row
changed while it was being re-sealed is left to the next run (the write only
lands if the value is still the one that was read). When nothing readable is
left under an old key id, that key id is retired and its secret may go.
Person keys are not touched: the lookup key never changes (bot/storage/keys.py).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select
from sqlmodel import Session

from bot.storage.binding import SEALED, SealedColumn
from bot.storage.crypto import Unreadable, Vault, key_id_of
from bot.storage.db import Database, rowcount, table_of
from bot.storage.keys import lookup_key, retire

log = logging.getLogger(__name__)

BATCH = 200  # rows per transaction


@dataclass
class Rotation:
    """What one run did, per sealed column and in all."""

    resealed: Counter[str] = field(default_factory=Counter)
    current: Counter[str] = field(default_factory=Counter)  # already under the new key
    unreadable: Counter[str] = field(default_factory=Counter)
    changed: Counter[str] = field(default_factory=Counter)  # written meanwhile: run again
    retired: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.changed


def rotate(db: Database, vault: Vault, batch: int = BATCH) -> Rotation:
    """Re-seal every sealed column under `vault.current`; retire old key ids when done."""
    with db.session() as session:  # the lookup key is kept under the new key id first
        lookup_key(session, vault, datetime.now(UTC))
        session.commit()
    result = Rotation()
    for sealed in SEALED:
        _rotate_column(db, vault, sealed, batch, result)
    if result.complete:
        with db.session() as session:
            result.retired = retire(session, vault)
            session.commit()
    log.info(
        "keys rotated: resealed=%d current=%d unreadable=%d changed=%d retired=%d",
        sum(result.resealed.values()),
        sum(result.current.values()),
        sum(result.unreadable.values()),
        sum(result.changed.values()),
        len(result.retired),
    )
    return result


def _rotate_column(
    db: Database, vault: Vault, sealed: SealedColumn, batch: int, result: Rotation
) -> None:
    table = table_of(sealed.model)
    column, key = table.c[sealed.column], table.c["id"]
    wanted = [key, column, *(table.c[name] for name in sealed.identity if name != "id")]
    after = 0
    while True:
        with db.session() as session:
            rows = session.execute(
                select(*wanted)
                .where(column.is_not(None))
                .where(key > after)
                .order_by(key)
                .limit(batch)
            ).all()
            for row in rows:
                after = row.id
                _reseal(session, vault, sealed, row, result)
            session.commit()
        if len(rows) < batch:
            return


def _reseal(
    session: Session, vault: Vault, sealed: SealedColumn, row: Row[Any], result: Rotation
) -> None:
    """One row, on its own: a failure here never stops the others."""
    table = table_of(sealed.model)
    blob = bytes(row._mapping[sealed.column])  # noqa: SLF001 - SQLAlchemy's public API
    if key_id_of(blob) == vault.current:
        result.current[sealed.name] += 1
        return
    context = sealed.context(row._mapping)  # noqa: SLF001 - SQLAlchemy's public API
    try:
        plain = vault.open_bytes(blob, context)
    except Unreadable:
        result.unreadable[sealed.name] += 1
        return
    written = session.execute(
        table.update()
        .where(table.c["id"] == row.id)
        .where(table.c[sealed.column] == blob)  # unchanged since it was read
        .values({sealed.column: vault.seal_bytes(plain, context)})
    )
    if rowcount(written) == 1:
        result.resealed[sealed.name] += 1
    else:
        result.changed[sealed.name] += 1


def census(db: Database) -> dict[str, Counter[str]]:
    """Per sealed column, how many values each key id (or "legacy") holds."""
    found: dict[str, Counter[str]] = {}
    for sealed in SEALED:
        column = table_of(sealed.model).c[sealed.column]
        counts: Counter[str] = Counter()
        with db.session() as session:
            for (blob,) in session.execute(select(column).where(column.is_not(None))):
                counts[key_id_of(bytes(blob))] += 1
            session.commit()
        found[sealed.name] = counts
    return found
