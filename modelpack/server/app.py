"""The tracking server's Starlette app, built from one frozen :class:`ServerConfig`.

>>> app = build_app(ServerConfig(backend_store_uri="sqlite:////tmp/store.db"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from modelpack.server.access import authorizer, identify
from modelpack.server.artifact_routes import ARTIFACT_ENDPOINTS, proxy_routes
from modelpack.server.auth import AuthStore
from modelpack.server.endpoint import Endpoint, call, json_error
from modelpack.server.lifecycle_routes import LIFECYCLE_ENDPOINTS
from modelpack.server.logged_model_routes import LOGGED_MODEL_ENDPOINTS
from modelpack.server.registry_routes import REGISTRY_ENDPOINTS
from modelpack.server.routes import ENDPOINTS
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
    #: the largest artifact one upload may write
    max_artifact_bytes: int = 5 * 1024**3


#: every JSON endpoint the server answers (the artifact proxy's routes come on top)
ALL_ENDPOINTS: tuple[Endpoint, ...] = (
    ENDPOINTS
    + LIFECYCLE_ENDPOINTS
    + REGISTRY_ENDPOINTS
    + LOGGED_MODEL_ENDPOINTS
    + ARTIFACT_ENDPOINTS
)


_ROUTE_LIKE = re.compile(r"/api/[A-Za-z0-9/_.-]{1,100}")
log = logging.getLogger("modelpack.server")

#: the only routes that answer without credentials under ``--auth``: liveness probes,
#: which say nothing about the store
OPEN_PATHS = ("/health", "/ping")


def _view(
    endpoint: Endpoint, client: Client, auth: AuthStore | None
) -> Callable[[Request], Awaitable[Response]]:
    async def view(request: Request) -> Response:
        authorize = None
        if auth is not None:
            who = await identify(request, auth)
            if isinstance(who, Response):
                return who
            user, role = who
            if role < endpoint.permission:
                # the role falls short everywhere; a grant on the experiment may not
                authorize = authorizer(endpoint, client, auth, user, role)
        return await call(request, endpoint, client, authorize)

    return view


async def _ping(request: Request) -> Response:
    return Response("OK", media_type="text/plain")


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        # an API path of plain route characters says which route a client misses; any
        # other path may carry data, and is not logged
        path = request.url.path
        shown = path if _ROUTE_LIKE.fullmatch(path) else "(a path not shown)"
        log.info("no endpoint for %s %s", request.method, shown)
        return json_error(
            404, "ENDPOINT_NOT_FOUND", "no endpoint at this path; the API is under /api/2.0/mlflow/"
        )
    if status == 405:
        return json_error(405, "BAD_REQUEST", f"{request.method} is not allowed on this endpoint")
    return json_error(status, "BAD_REQUEST", "the request could not be handled")


def _tracking_uri(config: ServerConfig) -> str | None:
    """The store's URI; ``--artifacts-destination`` becomes this process's artifact root
    (what ``MODELPACK_ARTIFACT_ROOT`` says for a library client), checked at once."""
    if config.artifacts_destination is not None:
        from modelpack.tracking.artifact_stores.root import parse_artifact_root
        from modelpack.tracking.stores.sql.location import ARTIFACT_ROOT_ENV

        parse_artifact_root(config.artifacts_destination)  # an unsupported scheme: refused
        os.environ[ARTIFACT_ROOT_ENV] = config.artifacts_destination
    return config.backend_store_uri


#: where ``modelpack server --workers N`` hands its config to the worker processes
CONFIG_ENV = "MODELPACK_SERVER_CONFIG"


def app_from_environment() -> Starlette:
    """The app of one worker process: :func:`build_app` on the config in :data:`CONFIG_ENV`."""
    return build_app(ServerConfig(**json.loads(os.environ[CONFIG_ENV])))


def build_app(config: ServerConfig) -> Starlette:
    """The ASGI app: MLflow's tracking REST API on ``config``'s store, ``GET /health``."""
    client = Client(_tracking_uri(config))
    auth = AuthStore(config.auth_db) if config.auth_db else None
    routes = [Route(e.path, _view(e, client, auth), methods=list(e.methods)) for e in ALL_ENDPOINTS]
    routes += proxy_routes(client, auth, config.max_artifact_bytes)
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
