"""Signing in to the UI of ``modelpack server --auth``: a login page, server-side sessions,
and the gate every other page passes.

A session is a random 256-bit id in an HttpOnly, SameSite=Lax cookie; the auth file
keeps its SHA-256 with the user and expiry, so every worker process honours it, a restart
keeps it, and signing out (or 12 hours) ends it. Each request re-reads the user's role and grants from the :class:`AuthStore`, the
REST API's own, so a changed role or grant applies at once and UI writes pass the same
checks as the API (:func:`modelpack.ui.web.require`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from modelpack.errors import ModelpackError
from modelpack.ui.web import error_page, page, read_form, render

if TYPE_CHECKING:
    from modelpack.server.auth import AuthStore

SESSION_COOKIE = "mp_session"
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 10_000
#: paths any visitor may open: the login form, static files, the liveness probe
OPEN = ("/login", "/ping")
OPEN_PREFIXES = ("/static/",)


def _local_next(raw: str | None) -> str:
    """A place to go after signing in: a path on this site, never another site."""
    if not raw or len(raw) > 2000 or not raw.startswith("/") or raw.startswith("//"):
        return "/"
    if "\\" in raw or any(ord(c) < 32 for c in raw):
        return "/"
    return raw


def _guard(auth: AuthStore, username: str) -> Callable[[str, str | None], bool]:
    from modelpack.server.endpoint import Permission

    def allowed(level: str, experiment_id: str | None) -> bool:
        try:
            role = auth.role_of(username)
        except ModelpackError:
            return False
        if experiment_id is not None:
            role = auth.permission_on(username, role, experiment_id)
        return bool(role >= Permission[level])

    return allowed


class SessionGate:
    """ASGI middleware: a page needs a session (else: the login page, or 401 for a POST)."""

    def __init__(self, app: ASGIApp, auth: AuthStore) -> None:
        self.app, self.auth = app, auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = scope.get("path", "")
        root = scope.get("root_path", "").rstrip("/")
        local = path[len(root) :] if root and path.startswith(root) else path
        if local in OPEN or local.startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        user = self.auth.session_user(request.cookies.get(SESSION_COOKIE, ""))
        if user is None:
            response: Response
            if request.method in ("GET", "HEAD"):
                target = local + (f"?{scope['query_string'].decode('latin-1')}"
                                  if scope.get("query_string") else "")  # fmt: skip
                response = RedirectResponse(f"{root}/login?next={quote(target)}", status_code=303)
            else:
                response = error_page(request, 401, "Sign in first: your session has ended.")
            await response(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        state["user"] = user
        state["guard"] = _guard(self.auth, user)
        await self.app(scope, receive, send)


def login_routes(auth: AuthStore) -> list[Route]:
    """``GET/POST /login`` and ``POST /logout``."""

    @page
    async def login(request: Request) -> Response:
        next_path = _local_next(request.query_params.get("next"))
        if request.method == "GET":
            return render(request, "login.html", next=next_path, failed=False)
        form = await read_form(request)
        username = form.get("username", "")[:128]
        password = form.get("password", "")[:1024]
        next_path = _local_next(form.get("next"))
        try:
            # a thread: scrypt must not stall the event loop
            user, _ = await run_in_threadpool(auth.role_for_password, username, password)
        except ModelpackError:
            return render(request, "login.html", status=401, next=next_path, failed=True)
        root = request.scope.get("root_path", "").rstrip("/")
        response = RedirectResponse(root + next_path if next_path != "/" else root + "/",
                                    status_code=303)  # fmt: skip
        response.set_cookie(
            SESSION_COOKIE, auth.create_session(user, SESSION_SECONDS, MAX_SESSIONS),
            max_age=SESSION_SECONDS, httponly=True,
            samesite="lax", path=root or "/",
        )  # fmt: skip
        return response

    @page
    async def logout(request: Request) -> Response:
        await read_form(request)
        auth.end_session(request.cookies.get(SESSION_COOKIE, ""))
        root = request.scope.get("root_path", "").rstrip("/")
        response = RedirectResponse(f"{root}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=root or "/")
        return response

    return [
        Route("/login", login, methods=["GET", "POST"], name="login"),
        Route("/logout", logout, methods=["POST"], name="logout"),
    ]


__all__ = ["SESSION_COOKIE", "SessionGate", "login_routes"]
