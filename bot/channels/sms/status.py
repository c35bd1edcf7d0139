"""POST /sms/status: how each message we sent fared. Numbers the carrier refuses
(error 21610) are noted as opted out. WhatsApp's reports come the same way
(`report_status` with its channel name, from bot/channels/whatsapp/).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from bot.channels.sms.inbound import (
    MAX_ADDRESS,
    SID,
    ArrivedAt,
)
from bot.channels.sms.render import (
    TWIML,
    empty_twiml,
)
from bot.channels.sms.verify import signed_form
from bot.engine import Engine
from bot.outbox import record_opt_out
from bot.storage import chats
from bot.storage.models import OutboundMessage
from bot.text import normalise

log = logging.getLogger(__name__)

router = APIRouter(prefix="/sms", tags=["sms"])

# Later states win; a late "sent" never overwrites "delivered".
STATUS_RANK = {
    "queued": 0,
    "accepted": 0,
    "scheduled": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "read": 4,
    "canceled": 3,
}
OPTED_OUT_ERROR = "21610"
# What a report means for a worker's live-chat line (bot/storage/chats.py).
CHAT_DELIVERY = {
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


def _engine(request: Request) -> Engine:
    return request.app.state.engine


@dataclass(frozen=True, slots=True)
class StatusReport:
    reply_id: int | None
    message_sid: str
    status: str
    error_code: str | None
    to: str


def parse_status(form: FormData, reply: str | None) -> StatusReport:
    status = normalise(str(form.get("MessageStatus") or form.get("SmsStatus") or ""))
    code = str(form.get("ErrorCode") or "").strip()
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "").strip()
    return StatusReport(
        reply_id=int(reply) if reply and reply.isdigit() and len(reply) < 12 else None,
        message_sid=sid if SID.match(sid) else "",
        status=status if status in STATUS_RANK else "",
        error_code=code[:20] if code and code != "0" else None,
        to=str(form.get("To") or "").strip()[:MAX_ADDRESS],
    )


# How many delivery reports named no message of ours (logged as a count only).
_unknown_reports = itertools.count(1)


def record_status(
    engine: Engine, report: StatusReport, now: datetime, channel: str = "sms"
) -> bool:
    """Update the delivery record a report is about; False when there is none.
    Only SMS numbers are marked opted out by 21610 (the carrier's STOP)."""
    with engine.db.session() as session:
        row = None
        if report.reply_id is not None:
            row = session.get(OutboundMessage, report.reply_id)
        if row is None and report.message_sid:
            row = (
                session.execute(
                    select(OutboundMessage)
                    .where(col(OutboundMessage.channel) == channel)
                    .where(col(OutboundMessage.provider_id) == report.message_sid)
                    .order_by(col(OutboundMessage.id))
                )
                .scalars()
                .first()
            )
        if row is None or row.channel != channel:
            session.commit()
            return False
        if report.status and STATUS_RANK[report.status] >= STATUS_RANK.get(row.status, 0):
            row.status = report.status
        if report.message_sid and not row.provider_id:
            row.provider_id = report.message_sid
        if report.error_code:
            row.error_code = report.error_code
        row.updated_at = now
        session.add(row)
        if row.outbox_id is not None and row.status in CHAT_DELIVERY:
            chats.mark_delivery(session, row.outbox_id, CHAT_DELIVERY[row.status])
        if report.error_code == OPTED_OUT_ERROR and report.to and channel == "sms":
            record_opt_out(session, engine.vault, report.to, "carrier", now)
        session.commit()
    return True


async def report_status(request: Request, now: datetime, channel: str) -> Response:
    """A signed delivery report for one of `channel`'s messages, recorded."""
    engine = _engine(request)
    form = await signed_form(request, engine.settings)
    report = parse_status(form, request.query_params.get("reply"))
    found = await run_in_threadpool(record_status, engine, report, now, channel)
    if not found:
        log.info("delivery reports for unknown messages so far: %d", next(_unknown_reports))
    return Response(empty_twiml(), media_type=TWIML)


@router.post("/status")
async def status(request: Request, now: ArrivedAt) -> Response:
    return await report_status(request, now, "sms")
