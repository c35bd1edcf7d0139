"""The dashboard's live chats, under /dashboard/conversations.

The list shows waiting chats by urgency (safety signals, then waiting time)
and never a number or a name; a chat's page shows its transcript only to the
worker holding it and to supervisors, and every page view is audited. htmx
polls a small part of each page every second and swaps only when something
changed (204 otherwise), so a danger message shows at once. Every action is
decided again by the server (bot/dashboard/chat_actions.py). Python hands
the templates codes; the templates hold the words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlmodel import Session, col

from bot.content.model import Content
from bot.dashboard import audit, pages, present
from bot.dashboard import chat_actions as act
from bot.dashboard import windows as win
from bot.dashboard.access import Staff
from bot.dashboard.deps import (
    Db,
    FoundChat,
    FoundChatPolling,
    FoundChatSupervisor,
    Handler,
    HandlerPolling,
    Now,
    Supervisor,
    Svc,
)
from bot.services import Services
from bot.storage import chats
from bot.storage.db import id_of, utc
from bot.storage.models import CallbackRequest, LiveChat, StaffUser
from bot.storage.requests import OPEN_STATUSES
from bot.text import to_gsm_plain

PRACTICE_CHANNEL = "simulator"  # practice chats, kept out of the real list as requests are
SAVED_PREFIX = "saved_replies."  # content/chat/saved_replies.yaml
EMERGENCY_KEY = "words.danger"  # the emergency guidance, offered as a saved reply too

router = APIRouter(prefix="/dashboard/conversations", include_in_schema=False)

Shown = Annotated[str, Query(max_length=16)]


def _render(
    request: Request, name: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    return pages.render(request, name, context, status)


def _minutes(since: datetime, now: datetime) -> int:
    return max(0, int((utc(now) - utc(since)).total_seconds() // 60))


# ----- the list ------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    chat: LiveChat
    waited: int  # minutes since the person asked
    long_wait: bool  # waiting past CHAT_WAIT_ALERT_MINUTES
    holder: str | None
    mine: bool


def _staff_names(db: Session) -> dict[int, str]:
    return {id_of(u): u.name for u in db.execute(select(StaffUser)).scalars()}


def _list_context(
    svc: Services, db: Session, now: datetime, staff: Staff, practice: bool = False
) -> dict[str, Any]:
    alert = svc.settings.chat_wait_alert_minutes
    names = _staff_names(db)
    supervisor = act.is_supervisor(staff.user)
    rows = []
    for chat in chats.waiting_and_open(db, now):
        if (chat.channel == PRACTICE_CHANNEL) != practice:
            continue  # simulator chats only in the practice view, real ones only outside it
        mine = chat.claimed_by == staff.user.id
        if chat.status == chats.OPEN and not (mine or supervisor):
            continue  # another worker's conversation: not theirs to see
        waited = _minutes(chat.created_at, now)
        rows.append(
            Row(
                chat=chat,
                waited=waited,
                long_wait=chat.status == chats.WAITING and waited >= alert,
                holder=names.get(chat.claimed_by) if chat.claimed_by else None,
                mine=mine,
            )
        )
    waiting = [r for r in rows if r.chat.status == chats.WAITING]
    held = [r for r in rows if r.chat.status == chats.OPEN]
    mine_count = sum(1 for r in held if r.mine)
    shown = present.fingerprint(
        [
            (r.chat.id, r.chat.status, r.chat.urgency, r.chat.signals, r.waited, r.holder)
            for r in rows
        ]
    )
    return {
        "staff": staff,
        "waiting": waiting,
        "held": held,
        "mine_count": mine_count,
        "limit": svc.settings.chat_max_open_per_worker,
        "alert_minutes": alert,
        "long_waits": [r for r in waiting if r.long_wait] if supervisor else [],
        "shown": shown,
        "practice": practice,
    }


@router.get("", response_class=HTMLResponse)
def conversations_page(
    request: Request,
    staff: Handler,
    svc: Svc,
    db: Db,
    now: Now,
    problem: Annotated[str, Query(max_length=30)] = "",
    done: Annotated[str, Query(max_length=30)] = "",
    practice: bool = False,
) -> HTMLResponse:
    context = _list_context(svc, db, now, staff, practice)
    audit.record(db, "chats_view", now, staff.user)
    db.commit()
    context.update(problem=problem, done=done)
    return _render(request, "conversations.html", context)


@router.get("/rows", response_class=HTMLResponse)
def conversations_rows(
    request: Request,
    staff: HandlerPolling,
    svc: Svc,
    db: Db,
    now: Now,
    shown: Shown = "",
    practice: bool = False,
) -> Response:
    """The live part of the list; 204 when nothing changed."""
    context = _list_context(svc, db, now, staff, practice)
    db.commit()
    if shown and context["shown"] == shown:
        return Response(status_code=204)
    return _render(request, "_chat_rows.html", context)


# ----- one chat ------------------------------------------------------------------------


def _forbidden(request: Request, staff: Staff, why: str) -> HTMLResponse:
    return _render(request, "chat_forbidden.html", {"staff": staff, "why": why}, 403)


def _saved_replies(content: Content, chat: LiveChat) -> list[dict[str, str]]:
    """Vetted replies in the person's language, with the English for the worker."""
    keys = [key for key in content.entries if key.startswith(SAVED_PREFIX)]
    if EMERGENCY_KEY in content:
        keys.append(EMERGENCY_KEY)
    found = []
    for key in keys:
        text = content.text(key, chat.locale)
        if chat.channel == "sms":
            text = to_gsm_plain(text)
        found.append({"key": key, "english": content.text(key, "en"), "text": text})
    return found


def _saved_text(content: Content, chat: LiveChat, key: str) -> str:
    for saved in _saved_replies(content, chat):
        if saved["key"] == key:
            return saved["text"]
    return ""


def _live_context(
    svc: Services, db: Session, now: datetime, staff: Staff, chat: LiveChat
) -> dict[str, Any]:
    window = svc.settings.chat_reply_window_minutes
    lines = chats.messages(db, svc.vault, id_of(chat)) if act.may_read(chat, staff.user) else []
    names = _staff_names(db)
    reply_block = chats.can_reply(chat, id_of(staff.user), now, window)
    reply_until = utc(chat.last_person_at) + timedelta(minutes=window)
    shown = present.fingerprint(
        chat.status,
        chat.claimed_by,
        chat.signals,
        chat.request_id,
        [(line.id, line.delivery) for line in lines],
        reply_block,
        act.may_read(chat, staff.user),
    )
    return {
        "staff": staff,
        "chat": chat,
        "reference": act.reference_of(chat),
        "lines": lines,
        "names": names,
        "holder": names.get(chat.claimed_by) if chat.claimed_by else None,
        "mine": act.holds(chat, staff.user),
        "readable": act.may_read(chat, staff.user),
        "signals": chats.signal_codes(chat),
        "reply_block": reply_block,
        "reply_until": reply_until,
        "waited": _minutes(chat.created_at, now),
        "shown": shown,
    }


def _open_request(db: Session, chat: LiveChat) -> CallbackRequest | None:
    if chat.request_id is not None:
        return db.get(CallbackRequest, chat.request_id)
    return db.execute(
        select(CallbackRequest)
        .where(col(CallbackRequest.person_key) == chat.person_key)
        .where(col(CallbackRequest.status).in_(OPEN_STATUSES))
        .limit(1)
    ).scalar_one_or_none()


def _page_context(
    svc: Services, db: Session, now: datetime, staff: Staff, chat: LiveChat
) -> dict[str, Any]:
    context = _live_context(svc, db, now, staff, chat)
    windows = win.effective(chat.windows or [], False, [])
    others = [
        u.name
        for u in db.execute(
            select(StaffUser).where(col(StaffUser.active)).order_by(col(StaffUser.name))
        ).scalars()
        if u.id != staff.user.id and u.role in ("handler", "supervisor")
    ]
    context.update(
        windows=present.window_lines(windows),
        saved=_saved_replies(svc.content, chat) if context["mine"] else [],
        others=others,
        known_request=_open_request(db, chat) if context["readable"] else None,
        segment_limit=svc.settings.chat_long_message_segments,
        limit=svc.settings.chat_max_open_per_worker,
        window_minutes=svc.settings.chat_reply_window_minutes,
        needs_number=chat.channel not in act.PHONE_CHANNELS,
        form={"text": "", "confirm_long": False},
        problem="",
        count=None,
        sent="",
        done="",
    )
    return context


@router.get("/{chat_id}", response_class=HTMLResponse)
def chat_page(
    request: Request,
    chat: FoundChat,
    staff: Handler,
    svc: Svc,
    db: Db,
    now: Now,
    sent: Annotated[str, Query(max_length=20)] = "",
    done: Annotated[str, Query(max_length=30)] = "",
) -> HTMLResponse:
    """The chat: the transcript for its holder and supervisors (every view audited);
    for anyone else a waiting chat's summary and a claim button, nothing more."""
    if not act.may_read(chat, staff.user) and chat.status != chats.WAITING:
        act.refuse(db, chat, staff.user, "not_holder", now)
        db.commit()
        return _forbidden(request, staff, "chat_not_holder")
    context = _page_context(svc, db, now, staff, chat)
    detail = "holder" if context["mine"] else ("supervisor" if context["readable"] else "summary")
    audit.record(db, "chat_view", now, staff.user, reference=act.reference_of(chat), detail=detail)
    db.commit()
    context.update(sent=sent, done=done)
    return _render(request, "chat.html", context)


@router.get("/{chat_id}/live", response_class=HTMLResponse)
def chat_live(
    request: Request,
    chat: FoundChatPolling,
    staff: HandlerPolling,
    svc: Svc,
    db: Db,
    now: Now,
    shown: Shown = "",
) -> Response:
    """The transcript and the chat's state, polled each second: a danger message,
    a MENU or an EXIT shows at once. Only for whoever may read the chat."""
    context = _live_context(svc, db, now, staff, chat)
    db.commit()
    if shown and context["shown"] == shown:
        return Response(status_code=204)
    return _render(request, "_chat_live.html", context)


def _refused(
    request: Request,
    svc: Services,
    db: Session,
    now: datetime,
    staff: Staff,
    chat: LiveChat,
    problem: str,
    status: int = 409,
    count: act.Count | None = None,
    **form: Any,
) -> HTMLResponse:
    """The chat page again, with a calm sentence saying why (and what was typed kept)."""
    db.refresh(chat)
    context = _page_context(svc, db, now, staff, chat)
    return pages.refused(
        request, db, "chat.html", context, status, form, problem=problem, count=count
    )


def _back(chat: LiveChat, query: str = "") -> RedirectResponse:
    return RedirectResponse(f"/dashboard/conversations/{chat.id}{query}", status_code=303)


@router.post("/{chat_id}/claim", response_class=HTMLResponse)
def claim(
    request: Request, chat: FoundChat, staff: Handler, svc: Svc, db: Db, now: Now
) -> Response:
    why = act.claim(db, chat, staff.user, now, svc.settings.chat_max_open_per_worker)
    db.commit()
    if why is None:
        return _back(chat)
    return RedirectResponse(f"/dashboard/conversations?problem={why}", status_code=303)


@router.post("/{chat_id}/reply", response_class=HTMLResponse)
def reply(
    request: Request,
    chat: FoundChat,
    staff: Handler,
    svc: Svc,
    db: Db,
    now: Now,
    text: Annotated[str, Form(max_length=4000)] = "",
    saved: Annotated[str, Form(max_length=60)] = "",
    confirm_long: Annotated[bool, Form()] = False,
) -> Response:
    if not text.strip() and saved:
        text = _saved_text(svc.content, chat, saved)
    sent = act.reply(db, svc.vault, svc.settings, chat, staff.user, text, confirm_long, now)
    if sent.refusal is not None:
        return _refused(
            request,
            svc,
            db,
            now,
            staff,
            chat,
            sent.refusal,
            422 if sent.refusal in ("empty", "too_long") else 409,
            text=text,
            confirm_long=confirm_long,
            count=sent.count,
        )
    db.commit()
    delivery = getattr(request.app.state, "chat_delivery", None)
    if delivery is not None:
        delivery.wake()  # the line leaves now, not at the next poll
    return _back(chat, f"?sent={sent.count.segments}-{sent.count.encoding}")


@router.post("/{chat_id}/end", response_class=HTMLResponse)
def end(
    request: Request,
    chat: FoundChat,
    staff: Handler,
    svc: Svc,
    db: Db,
    now: Now,
    outcome: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    why = act.end(db, chat, staff.user, outcome, now)
    if why is not None:
        status = 422 if why == "no_outcome" else 409
        return _refused(request, svc, db, now, staff, chat, why, status)
    db.commit()
    return RedirectResponse(f"/dashboard/conversations?done=ended-{chat.id}", status_code=303)


@router.post("/{chat_id}/callback", response_class=HTMLResponse)
def to_callback(
    request: Request,
    chat: FoundChat,
    staff: Handler,
    svc: Svc,
    db: Db,
    now: Now,
    number: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Turn the chat into a callback request from what it already knows."""
    why, reference = act.to_callback(
        db,
        svc.vault,
        svc.settings,
        chat,
        staff.user,
        given_number=number,
        now=now,
        reference_prefix=svc.reference_prefix,
        teams=svc.teams,
    )
    if why is not None:
        status = 422 if "number" in why else 409
        return _refused(request, svc, db, now, staff, chat, why, status)
    db.commit()
    return _back(chat, f"?done=callback-{reference}")


@router.post("/{chat_id}/transfer", response_class=HTMLResponse)
def transfer(
    request: Request,
    chat: FoundChat,
    staff: Handler,
    svc: Svc,
    db: Db,
    now: Now,
    to: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    why = act.transfer(db, chat, staff.user, to, now, svc.settings.chat_max_open_per_worker)
    if why is not None:
        return _refused(request, svc, db, now, staff, chat, why)
    db.commit()
    return RedirectResponse(f"/dashboard/conversations?done=transferred-{chat.id}", status_code=303)


@router.post("/{chat_id}/take-over", response_class=HTMLResponse)
def take_over(
    request: Request, chat: FoundChatSupervisor, staff: Supervisor, svc: Svc, db: Db, now: Now
) -> Response:
    why = act.take_over(db, chat, staff.user, now)
    if why is not None:
        return _refused(request, svc, db, now, staff, chat, why)
    db.commit()
    return _back(chat)
