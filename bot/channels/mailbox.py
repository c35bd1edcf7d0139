"""Messages waiting for a browser page, delivered when the page next polls.

A web page cannot be sent to: it asks. The web chat and the simulator are such
pages. Anything queued for one of their addresses in the outbox (its channel,
`person_key` = the person key of that address; e.g. a worker's reply in a live
chat) waits there as `pending`. The worker has no sender for these channels
and leaves such rows alone; instead the page's poll hands them over, oldest
first, and marks them `sending`. The page confirms what it has shown with its
next poll (`after` = the last id it showed), and only then are they `sent`, so
a reply lost on a bad connection is handed over again (at least once; the page
drops ids it has shown). A worker's line in a live chat follows along
(bot/storage/chats.py): "sent" when handed over, "delivered" once the page
confirms it, "failed" when it was void. The same checks as every outbox send
apply first: a row whose request is closed, that is outside the person's safe
times or past its expiry is `void`, never shown. EXIT deletes whatever still
waits.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from sqlalchemy import delete, select
from sqlmodel import Session, col

from bot import windows as win
from bot.outbox import callback_hours, void_reason
from bot.settings import PROJECT_ROOT
from bot.storage import binding, chats
from bot.storage.crypto import Vault
from bot.storage.db import Database
from bot.storage.models import OutboundMessage, Outbox

WAITING = ("pending", "sending")
MAX_AT_ONCE = 20


@lru_cache(maxsize=1)
def _hours() -> tuple[win.Window, ...]:
    return tuple(callback_hours(PROJECT_ROOT / "content"))


def collect(
    db: Database, vault: Vault, channel: str, person_key: str, after: int, now: datetime
) -> list[dict[str, object]]:
    """Confirm rows up to `after` as sent; hand over the ones after it."""
    out: list[dict[str, object]] = []
    with db.session() as session:
        query = (
            select(Outbox)
            .where(col(Outbox.channel) == channel)
            .where(col(Outbox.person_key) == person_key)
            .where(col(Outbox.status).in_(WAITING))
            .order_by(col(Outbox.id))
            .limit(MAX_AT_ONCE * 2)
        )
        if db.is_postgres:
            query = query.with_for_update()
        for row in session.execute(query).scalars():
            assert row.id is not None
            if row.id <= after:
                row.status, row.sent_at = "sent", now
                chats.mark_delivery(session, row.id, "delivered")  # a worker's line: shown
                session.add(
                    OutboundMessage(
                        channel=channel,
                        person_key=person_key,
                        outbox_id=row.id,
                        status="delivered",
                        created_at=now,
                        updated_at=now,
                    )
                )
            elif len(out) < MAX_AT_ONCE:
                reason = void_reason(session, row, now, list(_hours()))
                text = None
                if reason is None:
                    try:
                        payload = vault.open(
                            row.payload_enc, binding.outbox_payload(row.dedupe_key)
                        )
                        text = str(payload["text"])
                    except Exception:  # noqa: BLE001 - corrupt or sealed with another key
                        reason = "unreadable"
                if reason is not None:
                    row.status, row.last_error = "void", reason[:40]
                    chats.mark_delivery(session, row.id, "failed")  # staff see it did not go
                else:
                    row.status = "sending"
                    row.attempts += 1
                    chats.mark_delivery(session, row.id, "sent")
                    out.append({"id": row.id, "text": text})
            session.add(row)
        session.commit()
    return out


def drop_waiting(session: Session, channel: str, person_key: str) -> int:
    """Delete what still waits for this person's page (EXIT), in the caller's transaction."""
    result = session.execute(
        delete(Outbox)
        .where(col(Outbox.channel) == channel)
        .where(col(Outbox.person_key) == person_key)
        .where(col(Outbox.status).in_(WAITING))
    )
    return int(getattr(result, "rowcount", 0) or 0)
