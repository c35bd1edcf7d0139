"""What a dashboard route takes as arguments: the services, a database session, the
clock, the signed-in staff member, and a request found by its reference or a
live chat by its id.

Each is a small FastAPI dependency, so a route says in its signature what it
uses and never reaches through the engine (which the dashboard must not
import). The database session closes when the route returns, before the
response is sent, so no transaction outlives the work it was opened for.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlmodel import Session, col

from bot.dashboard import access
from bot.dashboard import windows as win
from bot.dashboard.access import Staff
from bot.services import Services, services_of
from bot.storage.models import CallbackRequest, LiveChat


def services(request: Request) -> Services:
    return services_of(request.app.state)


def db_session(request: Request) -> Iterator[Session]:
    """One session for the route (and the dependencies it shares), closed when the
    route returns; the route commits what it wants kept."""
    with services_of(request.app.state).db.session() as session:
        yield session


def now(request: Request) -> datetime:
    """The dashboard's clock (tests move it through `app.state.dashboard_clock`)."""
    return access.now_of(request)


def service_hours(request: Request) -> list[win.Window]:
    """The callback hours from the content, the windows an "as soon as possible"
    request may be called in."""
    return win.service_hours(services_of(request.app.state).content.data.get("service", {}))


Svc = Annotated[Services, Depends(services)]
Db = Annotated[Session, Depends(db_session, scope="function")]
Now = Annotated[datetime, Depends(now)]
Hours = Annotated[list[win.Window], Depends(service_hours)]

# The signed-in staff member (bot/dashboard/access.py checks the session, the CSRF
# token of a POST and the role).
Handler = Annotated[Staff, Depends(access.handler)]
HandlerPolling = Annotated[Staff, Depends(access.handler_polling)]
Supervisor = Annotated[Staff, Depends(access.supervisor)]


class RequestMissing(Exception):
    """No request has that reference (never made, or deleted after retention):
    answered with the calm "not found" page."""

    def __init__(self, staff: Staff) -> None:
        super().__init__("no such request")
        self.staff = staff


def find(db: Session, reference: str) -> CallbackRequest | None:
    """The request with this reference, read afresh (a claim or a cancellation
    made a moment ago by someone else shows)."""
    return db.execute(
        select(CallbackRequest)
        .where(col(CallbackRequest.reference) == reference[:16])
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _found(db: Session, reference: str, staff: Staff) -> CallbackRequest:
    found = find(db, reference)
    db.commit()  # ends the read: no lock is held while the route's other parts resolve
    if found is None:
        raise RequestMissing(staff)
    return found


def found_request(reference: str, db: Db, staff: Handler) -> CallbackRequest:
    """The request named in the path, for a signed-in handler (checked first)."""
    return _found(db, reference, staff)


def found_request_polling(reference: str, db: Db, staff: HandlerPolling) -> CallbackRequest:
    """The same for automatic polling, which does not keep the session alive."""
    return _found(db, reference, staff)


Found = Annotated[CallbackRequest, Depends(found_request, scope="function")]
FoundPolling = Annotated[CallbackRequest, Depends(found_request_polling, scope="function")]


class ChatMissing(Exception):
    """No live chat has that id (never made, or purged): the calm "not found" page."""

    def __init__(self, staff: Staff) -> None:
        super().__init__("no such chat")
        self.staff = staff


def find_chat(db: Session, chat_id: int) -> LiveChat | None:
    """The chat, read afresh (a claim, a transfer or an EXIT a moment ago shows)."""
    return db.execute(
        select(LiveChat)
        .where(col(LiveChat.id) == chat_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _found_chat(db: Session, chat_id: int, staff: Staff) -> LiveChat:
    found = find_chat(db, chat_id)
    db.commit()  # as in `_found`: the route's own work starts its own transaction
    if found is None:
        raise ChatMissing(staff)
    return found


def found_chat(chat_id: int, db: Db, staff: Handler) -> LiveChat:
    """The chat named in the path, for a signed-in handler (checked first)."""
    return _found_chat(db, chat_id, staff)


def found_chat_polling(chat_id: int, db: Db, staff: HandlerPolling) -> LiveChat:
    """The same for automatic polling, which does not keep the session alive."""
    return _found_chat(db, chat_id, staff)


def found_chat_supervisor(chat_id: int, db: Db, staff: Supervisor) -> LiveChat:
    """The same for a supervisor's action (the role is checked first)."""
    return _found_chat(db, chat_id, staff)


FoundChat = Annotated[LiveChat, Depends(found_chat, scope="function")]
FoundChatPolling = Annotated[LiveChat, Depends(found_chat_polling, scope="function")]
FoundChatSupervisor = Annotated[LiveChat, Depends(found_chat_supervisor, scope="function")]
