"""The web UI as a Starlette app: ``build_ui(client)``, served by ``modelpack ui`` or
mounted at ``/`` of ``modelpack server`` (then behind its auth, see :mod:`.session`).

>>> from modelpack import Client
>>> app = build_ui(Client("sqlite:////tmp/store.db"))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import ASGIApp, Scope

from modelpack.tracking.client import Client
from modelpack.ui import compare, experiments, registry, run
from modelpack.ui.assets import static_mount
from modelpack.ui.session import SessionGate, login_routes
from modelpack.ui.web import error_page

if TYPE_CHECKING:
    from modelpack.server.auth import AuthStore


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return error_page(request, 404, "There is no page at this address.")
    if status == 405:
        return error_page(request, 405, "This page does not accept that method.")
    return error_page(request, status, "The request could not be handled.")


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_page(request, 500, "The server failed to show this page; see its log.")


async def _ping(request: Request) -> Response:
    return Response("OK", media_type="text/plain")


def ui_routes() -> list[BaseRoute]:
    """Every page of the UI (without auth; :func:`build_ui` adds it)."""
    return [
        *experiments.routes(),
        *run.routes(),
        *registry.routes(),
        *compare.routes(),
        Route("/ping", _ping),
        static_mount(),
    ]


def build_ui(client: Client, *, auth: AuthStore | None = None) -> Starlette:
    """The UI on ``client``'s store; with ``auth``, every page needs a signed-in user
    and reads and writes pass the REST API's role and grant checks."""
    routes = ui_routes()
    middleware = []
    if auth is not None:
        routes = [*login_routes(auth), *routes]
        middleware.append(Middleware(SessionGate, auth=auth))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={HTTPException: _http_error, 500: _server_error},
    )
    app.state.client = client
    return app


class _UiMount(Mount):
    """A mount at ``/`` that leaves the paths under ``excluded`` to the routes of the host
    app (its JSON 404 and 405 answers stay as they were)."""

    def __init__(self, app: ASGIApp, excluded: tuple[str, ...]) -> None:
        super().__init__("", app=app)
        self.excluded = excluded

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope.get("path", "").startswith(self.excluded):
            return Match.NONE, {}
        return super().matches(scope)


def ui_mount(
    client: Client, *, auth: AuthStore | None = None, excluded: tuple[str, ...] = ("/api/",)
) -> Mount:
    """The UI as the last route of another app (``modelpack server``), at ``/``."""
    return _UiMount(build_ui(client, auth=auth), excluded)


__all__ = ["build_ui", "static_mount", "ui_mount", "ui_routes"]
