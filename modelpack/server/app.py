"""The tracking server's Starlette app, built from one frozen :class:`ServerConfig`.

>>> app = build_app(ServerConfig(backend_store_uri="sqlite:////tmp/store.db"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from modelpack.errors import InvalidInput, ModelpackError, PermissionDenied
from modelpack.server.auth import AuthStore
from modelpack.server.endpoint import (
    Authorize,
    Endpoint,
    Permission,
    call,
    error_response,
    json_error,
)
from modelpack.server.routes import ENDPOINTS, experiment_of
from modelpack.tracking.client import Client
from modelpack.ui import ui_mount


@dataclass(frozen=True)
class ServerConfig:
    """Everything one ``modelpack server`` process runs with."""

    backend_store_uri: str | None = None
    artifacts_destination: str | None = None
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    auth_db: str | None = None  # set: every request must authenticate


#: the only routes that answer without credentials under ``--auth``: liveness probes,
#: which say nothing about the store
OPEN_PATHS = ("/health", "/ping")


def _authorizer(
    endpoint: Endpoint, client: Client, auth: AuthStore, user: str, role: Permission
) -> Authorize:
    def authorize(body: BaseModel) -> None:
        experiment_id = experiment_of(client, body)
        level = role if experiment_id is None else auth.permission_on(user, role, experiment_id)
        if level < endpoint.permission:
            raise PermissionDenied(
                f"{endpoint.path} needs {endpoint.permission.name} on this experiment; "
                f"you have {level.name} — ask for a grant ('modelpack server users grant')"
            )

    return authorize


def _view(
    endpoint: Endpoint, client: Client, auth: AuthStore | None
) -> Callable[[Request], Awaitable[Response]]:
    async def view(request: Request) -> Response:
        authorize = None
        if auth is not None:
            try:
                # a thread: scrypt for a first Basic login must not stall the event loop
                header = request.headers.get("authorization", "")
                user, role = await run_in_threadpool(auth.authenticate, header)
            except ModelpackError as exc:
                response = error_response(exc)
                response.headers["WWW-Authenticate"] = 'Basic realm="modelpack"'
                return response
            if role < endpoint.permission:
                # the role falls short everywhere; a grant on the experiment may not
                authorize = _authorizer(endpoint, client, auth, user, role)
        return await call(request, endpoint, client, authorize)

    return view


async def _ping(request: Request) -> Response:
    return Response("OK", media_type="text/plain")


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return json_error(
            404, "ENDPOINT_NOT_FOUND", "no endpoint at this path; the API is under /api/2.0/mlflow/"
        )
    if status == 405:
        return json_error(405, "BAD_REQUEST", f"{request.method} is not allowed on this endpoint")
    return json_error(status, "BAD_REQUEST", "the request could not be handled")


def _tracking_uri(config: ServerConfig) -> str | None:
    if config.artifacts_destination is None:
        return config.backend_store_uri
    # the embedded store keeps artifacts beside its database; a separate destination is
    # not wired through the public Client yet
    raise InvalidInput(
        "--artifacts-destination is not supported yet: artifacts live beside the backend store"
    )


def build_app(config: ServerConfig) -> Starlette:
    """The ASGI app: MLflow's tracking REST API on ``config``'s store, ``GET /health``."""
    client = Client(_tracking_uri(config))
    auth = AuthStore(config.auth_db) if config.auth_db else None
    routes = [Route(e.path, _view(e, client, auth), methods=list(e.methods)) for e in ENDPOINTS]
    routes += [Route(path, _ping) for path in OPEN_PATHS]
    return Starlette(
        routes=[*routes, ui_mount(client, auth=auth)],  # the web UI at /, behind the same auth
        exception_handlers={HTTPException: _http_error, 500: _server_error},
    )


async def _server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        {"error_code": "INTERNAL_ERROR", "message": "the server failed; see its log"},
        status_code=500,
    )
