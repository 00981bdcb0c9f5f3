"""The scoring app: ``build_app(config)`` returns a Starlette app serving one model.

Routes: ``/ping``, ``/health``, ``/version``, ``/metadata``, ``POST /invocations``
(MLflow's scoring protocol), the Open Inference Protocol under ``/v2``, ``/metrics``,
``/openapi.json`` and ``/docs``. Every error is a JSON body; nothing a client sent and
no stack trace ever leaves the server or reaches its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from modelpack import __version__
from modelpack.errors import ModelpackError, PredictionError
from modelpack.pyfunc_model import PyFuncModel
from modelpack.serving.encoding import dumps, encode_predictions
from modelpack.serving.http import metrics
from modelpack.serving.http.asgi import body_headers, receive_body, send_json
from modelpack.serving.http.config import ServeConfig
from modelpack.serving.http.model_state import (
    ModelHolder,
    ModelIdentity,
    ServedModel,
    served_identity,
)
from modelpack.serving.parsing import CSV_TYPE, PARQUET_TYPE, media_type, parse_request

log = logging.getLogger("modelpack.serving")

JSON = "application/json"
#: JSON bodies up to this size are parsed on the event loop; larger ones in a thread
INLINE_PARSE_BYTES = 64 * 1024
#: CSV bodies up to this size are parsed on the event loop (a few rows): pandas takes
#: time quadratic in a header's width, 0.5 s for an 8 KB header of commas
INLINE_CSV_BYTES = 1024
#: MLflow's error codes for the statuses the HTTP layer produces itself
STATUS_CODES = {
    400: "BAD_REQUEST",
    404: "ENDPOINT_NOT_FOUND",
    405: "BAD_REQUEST",
    413: "REQUEST_LIMIT_EXCEEDED",
    415: "BAD_REQUEST",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

Handler = Callable[[Request, ServedModel | None], Awaitable[Response]]


#: the error code of a request whose client hung up before it was read
CLIENT_CLOSED = "CLIENT_CLOSED_REQUEST"


def error_response(
    status: int, message: str, code: str | None = None, *, v2: bool = False
) -> Response:
    """The JSON error body: ``{"error_code", "message"}``, or ``{"error"}`` on V2 routes.

    >>> error_response(404, "no such route").body
    b'{"error_code":"ENDPOINT_NOT_FOUND","message":"no such route"}'
    """
    if v2:
        body: dict[str, str] = {"error": message}
    else:
        body = {
            "error_code": code or STATUS_CODES.get(status, "INTERNAL_ERROR"),
            "message": message,
        }
    try:
        content = dumps(body)
    except Exception:  # an error about odd input must itself never fail: ASCII escapes all
        content = json.dumps(body).encode()
    return Response(content, status_code=status, media_type=JSON)


def _failure(exc: Exception, v2: bool) -> tuple[Response, str]:
    """The response for an exception a handler raised, and its error code for metrics."""
    if isinstance(exc, PredictionError):
        # Its status (400, as MLflow's server answers) comes from the error tree; the
        # server adds the cause's type to its log and a pointer to the signature.
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "error"
        log.warning("the model failed on a request's input (%s)", cause)
        message = f"{exc.message}; check that the input suits the model (see GET /metadata)"
        response = error_response(exc.http_status, message, exc.error_code, v2=v2)
        return response, exc.error_code
    if isinstance(exc, ModelpackError):
        code = exc.error_code
        if exc.http_status >= 500:
            log.warning("request failed: %s (%s)", code, type(exc).__name__)
        return error_response(exc.http_status, exc.message, code, v2=v2), code
    if isinstance(exc, HTTPException):
        code = STATUS_CODES.get(exc.status_code, "BAD_REQUEST")
        response = error_response(exc.status_code, str(exc.detail), code, v2=v2)
        if exc.headers:
            response.headers.update(exc.headers)
        return response, code
    if isinstance(exc, ClientDisconnect):
        # the client hung up before its body arrived: nothing to answer and no fault of
        # the server's; 499 as nginx counts it, so 5xx alerts do not fire
        response = error_response(499, "the client closed the request", CLIENT_CLOSED, v2=v2)
        return response, CLIENT_CLOSED
    # never the message: a library's message can quote the request's values
    log.error("internal error while serving a request: %s", type(exc).__name__)
    return error_response(500, "internal server error", "INTERNAL_ERROR", v2=v2), "INTERNAL_ERROR"


def prepare(
    served: ServedModel, body: bytes, content_type: str | None, max_decoded_bytes: int
) -> tuple[Any, Any]:
    """Parse a scoring body and put it through the model's signature enforcement."""
    data, params = parse_request(body, content_type, served.input_schema, max_decoded_bytes)
    prepared: tuple[Any, Any] = served.enforce(data, params)
    return prepared


def _inline_limit(content_type: str | None) -> int:
    """The largest body of this type parsed on the event loop: parquet never, since a
    small body may still take long to decompress; an unsupported type fails fast."""
    try:
        mime = media_type(content_type)
    except HTTPException:
        return INLINE_PARSE_BYTES
    if mime == PARQUET_TYPE:
        return -1
    return INLINE_CSV_BYTES if mime == CSV_TYPE else INLINE_PARSE_BYTES


class ScoringApp:
    """The handlers, bound to one config and one :class:`ModelHolder`."""

    def __init__(self, config: ServeConfig, holder: ModelHolder) -> None:
        self.config = config
        self.holder = holder

    def route(self, path: str, handler: Handler, methods: list[str], *, v2: bool = False) -> Route:
        """A Route whose handler is timed, counted and never lets an exception escape."""
        holder = self.holder

        async def endpoint(request: Request) -> Response:
            start = time.perf_counter()
            served = holder.current
            code = ""
            if served is not None:
                served.metrics.started()
            try:
                response = await handler(request, served)
            except Exception as exc:
                response, code = _failure(exc, v2)
            finally:
                if served is not None:
                    served.metrics.finished()
            if served is not None:
                served.metrics.request(
                    path, response.status_code, time.perf_counter() - start, code
                )
            return response

        return Route(path, endpoint, methods=methods, name=path)

    async def ping(self, request: Request, served: ServedModel | None) -> Response:
        if served is None:
            raise self.holder.not_ready()
        return Response("\n", media_type=JSON)

    async def version(self, request: Request, served: ServedModel | None) -> Response:
        return Response(__version__, media_type="text/plain")

    async def metadata(self, request: Request, served: ServedModel | None) -> Response:
        if served is None:
            raise self.holder.not_ready()
        return Response(served.metadata_body, media_type=JSON)

    async def metrics(self, request: Request, served: ServedModel | None) -> Response:
        body, content_type = await asyncio.to_thread(metrics.exposition)
        return Response(body, headers={"Content-Type": content_type})

    async def invocations(self, request: Request, served: ServedModel | None) -> Response:
        """``POST /invocations``: MLflow's scoring protocol."""
        body = await self.score(request.scope, request.receive, served)
        return Response(body, media_type=JSON)

    async def score(self, scope: Scope, receive: Receive, served: ServedModel | None) -> bytes:
        """The ``/invocations`` response body for the request in ``scope``."""
        if served is None:
            raise self.holder.not_ready()
        deadline = time.monotonic() + self.config.timeout
        batcher = served.batcher
        batcher.arriving += 1
        try:
            declared, content_type = body_headers(scope)
            body = await receive_body(receive, declared, self.config.max_body_bytes)
            prepared = True
            limit = self.config.max_decoded_bytes
            if len(body) <= _inline_limit(content_type):
                # enforcement waits for the batch: one DataFrame for all its requests
                data, params = parse_request(body, content_type, served.input_schema, limit)
                prepared = False
            else:
                data, params = await asyncio.to_thread(prepare, served, body, content_type, limit)
        finally:
            batcher.arriving -= 1
        timeout = max(deadline - time.monotonic(), 0.001)
        predictions = await batcher.predict(data, params, timeout, prepared=prepared)
        encoded: bytes = encode_predictions(predictions)
        return encoded

    async def asgi_invocations(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /invocations`` as a raw ASGI app: what :meth:`route` and
        :meth:`invocations` do together, without starlette's per-request objects."""
        start = time.perf_counter()
        served = self.holder.current
        if served is None:
            response, code = _failure(self.holder.not_ready(), False)
            await response(scope, receive, send)
            return
        model_metrics = served.metrics
        model_metrics.started()
        try:
            body = await self.score(scope, receive, served)
        except Exception as exc:
            model_metrics.finished()
            response, code = _failure(exc, False)
            model_metrics.request(
                "/invocations", response.status_code, time.perf_counter() - start, code
            )
            await response(scope, receive, send)
            return
        model_metrics.finished()
        model_metrics.request("/invocations", 200, time.perf_counter() - start)
        await send_json(send, body)


class ScoringStarlette(Starlette):
    """The Starlette app, with ``POST /invocations`` answered before the middleware stack."""

    def __init__(self, scoring: ScoringApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._invocations = scoring.asgi_invocations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] == "/invocations"
            and scope["method"] == "POST"
            and not scope.get("root_path")
        ):
            await self._invocations(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def build_app(
    config: ServeConfig,
    model: PyFuncModel | None = None,
    *,
    identity: ModelIdentity | None = None,
    load_seconds: float = 0.0,
) -> Starlette:
    """The scoring app for ``config``; loads the model in the background unless given one.

    >>> app = build_app(ServeConfig(model_uri="models/iris"))  # doctest: +SKIP
    >>> uvicorn.run(app)  # doctest: +SKIP
    """
    from modelpack.serving.http import openapi, v2

    preloaded = None
    if model is not None:
        preloaded = (model, identity or served_identity(config), load_seconds)
    holder = ModelHolder(config, preloaded)
    scoring = ScoringApp(config, holder)
    get, post = ["GET"], ["POST"]
    routes = [
        scoring.route("/ping", scoring.ping, get),
        scoring.route("/health", scoring.ping, get),
        scoring.route("/version", scoring.version, get),
        scoring.route("/metadata", scoring.metadata, get),
        scoring.route("/invocations", scoring.invocations, post),
        scoring.route("/metrics", scoring.metrics, get),
        *openapi.routes(scoring),
        *v2.routes(scoring),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await holder.start()
        try:
            yield
        finally:
            await holder.stop()

    async def http_error(request: Request, exc: Exception) -> Response:
        # routing's own 404/405, raised before any handler runs
        v2_route = request.url.path.startswith("/v2")
        response, code = _failure(exc, v2_route)
        served = holder.current
        if served is not None:
            served.metrics.request("unmatched", response.status_code, 0.0, code)
        return response

    app = ScoringStarlette(
        scoring, routes=routes, lifespan=lifespan, exception_handlers={HTTPException: http_error}
    )
    app.state.holder = holder
    app.state.config = config
    return app


__all__ = ["ScoringApp", "ScoringStarlette", "build_app", "error_response"]
