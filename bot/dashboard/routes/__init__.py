"""The dashboard's web routes, under /dashboard, one module per purpose.

- `signin`: the sign-in form and password, signing out (the code and
  enrolment that follow a password are in bot/dashboard/signin.py);
- `queue`: the queue page, its live rows and "Take next";
- `request`: one request, its live part, claim, release, the number, attempts;
- `audit`: supervisors' audit of a request and the CSV export.

Each has its own APIRouter and names its role through `bot/dashboard/deps.py`.
`install(app)` includes every router of `routers()`: a new dashboard module
adds one line there. Pages are server-rendered; htmx polls the queue and a
request's status every second and swaps only when something changed (the
server answers 204 otherwise). Python hands templates codes; the templates
hold the words.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from bot.dashboard import sessions
from bot.dashboard.access import BadCsrf, Forbidden, NotSignedIn
from bot.dashboard.deps import ChatMissing, Handler, HandlerPolling, RequestMissing, Supervisor
from bot.dashboard.pages import TEMPLATES, render, set_cookie

# The names route modules imported from here before the split.
_render, _set_cookie = render, set_cookie
__all__ = [
    "TEMPLATES",
    "Handler",
    "HandlerPolling",
    "Supervisor",
    "install",
    "render",
    "routers",
    "set_cookie",
]


def routers() -> list[APIRouter]:
    """Every dashboard router, in the order they are matched. Imported here rather
    than at the top, so a route module may import this package without a loop."""
    from bot.dashboard import conversations, figures, signin
    from bot.dashboard.routes import audit, queue, request
    from bot.dashboard.routes import signin as password

    return [
        password.router,
        signin.router,  # the code and enrolment after the password, staff accounts
        queue.router,
        request.router,
        audit.router,
        figures.router,  # the Figures section (bot/dashboard/figures.py)
        conversations.router,  # live chats (bot/dashboard/conversations.py)
    ]


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def install(app: FastAPI) -> None:
    """Mount the dashboard and turn access failures into calm answers."""
    for router in routers():
        app.include_router(router)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, error: NotSignedIn) -> Response:
        target = "/dashboard/login" + ("?expired=true" if error.expired else "")
        if _is_htmx(request):
            return Response(status_code=200, headers={"HX-Redirect": target})
        response = RedirectResponse(target, status_code=303)
        if error.expired:
            response.delete_cookie(sessions.COOKIE, path="/dashboard")
        return response

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, _error: Forbidden) -> Response:
        return render(request, "forbidden.html", {"why": "supervisor"}, 403)

    @app.exception_handler(BadCsrf)
    async def bad_csrf(request: Request, _error: BadCsrf) -> Response:
        return render(request, "forbidden.html", {"why": "stale_form"}, 403)

    @app.exception_handler(RequestMissing)
    async def missing(request: Request, error: RequestMissing) -> Response:
        return render(request, "missing.html", {"staff": error.staff}, 404)

    @app.exception_handler(ChatMissing)
    async def chat_missing(request: Request, error: ChatMissing) -> Response:
        return render(request, "chat_missing.html", {"staff": error.staff}, 404)
