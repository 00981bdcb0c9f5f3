"""One REST endpoint: its path, methods, body model, permission and handler, and the
plumbing every endpoint shares (bounded body reading, validation, MLflow error bodies).

Every error leaves as ``{"error_code", "message"}`` with MLflow's status codes; a
message names the field and what was expected, never the value that came.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from modelpack.errors import AlreadyExists, InvalidInput, ModelpackError, NotFound
from modelpack.tracking.client import Client

log = logging.getLogger("modelpack.server")

#: largest request body read (decoded bytes); MLflow's own log-batch limits fit well inside
MAX_BODY_BYTES = 8 * 1024 * 1024
_STATUS_BY_CODE = {
    # MLflow answers 400 for a name that is taken, where modelpack's library says 409
    "RESOURCE_ALREADY_EXISTS": 400,
}

_TAKEN = "an experiment with this name already exists; pick another name or look it up by name"
_TAKEN_MODEL = "a registered model with this name already exists; pick another name"


class Permission(enum.IntEnum):
    """What a request needs, in increasing order; a user's role must be at least this."""

    NONE = 0  # a role (or grant) that allows nothing
    READ = 1
    EDIT = 2
    MANAGE = 3


class MalformedRequest(InvalidInput):
    """The request body is not the JSON object the endpoint expects."""

    error_code = "MALFORMED_REQUEST"


Handler = Callable[[Client, Any], dict[str, Any]]
#: checks a validated body against the caller's permissions (raises PermissionDenied)
Authorize = Callable[[BaseModel], None]


@dataclass(frozen=True)
class Scope:
    """One thing a request acts on, for grants: an ``experiment`` id or a registered
    ``model`` name. ``keys`` are alternatives (a shared model snapshot belongs to every
    model that registered it): a grant on any one of them is enough."""

    kind: str
    keys: tuple[str, ...]
    need: Permission


#: the scopes of a validated body (none: a request on no single thing, e.g. a search)
Scoper = Callable[[Client, Any], list[Scope]]


@dataclass(frozen=True)
class Endpoint:
    """``POST /api/2.0/mlflow/runs/create`` and what serves it."""

    path: str
    methods: tuple[str, ...]
    body: type[BaseModel]
    permission: Permission
    handler: Handler
    #: what a NotFound from the store means here, said without the id that came
    missing: str = "no run with this run_id; check the id"
    #: what the request acts on, for grants (None: the experiment of its run or experiment)
    scope: Scoper | None = None


def error_response(exc: ModelpackError) -> JSONResponse:
    """The MLflow-shaped error answer for ``exc``."""
    status = _STATUS_BY_CODE.get(exc.error_code, exc.http_status)
    return JSONResponse(exc.to_dict(), status_code=status)


def json_error(status: int, code: str, message: str) -> JSONResponse:
    """An error answer that has no exception class behind it (404 route, 405 method)."""
    return JSONResponse({"error_code": code, "message": message}, status_code=status)


async def read_body(request: Request) -> bytes:
    """The request body, refused once it passes :data:`MAX_BODY_BYTES`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise MalformedRequest(_too_big(int(declared)))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise MalformedRequest(_too_big(size))
        chunks.append(chunk)
    return b"".join(chunks)


def _too_big(size: int) -> str:
    return (
        f"request body must be at most {MAX_BODY_BYTES} bytes, got {size}+; "
        "split the batch into smaller requests"
    )


def _query_fields(request: Request, model: type[BaseModel]) -> dict[str, Any]:
    # GET requests carry the message as query parameters; repeated ones are lists
    out: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        field = model.model_fields.get(key)
        is_list = field is not None and "list" in str(field.annotation)
        out[key] = values if is_list else values[-1]
    return out


def parse_json_object(raw: bytes, where: str) -> dict[str, Any]:
    """``raw`` decoded as a JSON object, or :class:`MalformedRequest` saying why not."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise MalformedRequest(f"{where}: the body must be UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise MalformedRequest(
            f"{where}: the body is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise MalformedRequest(f"{where}: the JSON body is nested too deeply") from None
    if not isinstance(data, dict):
        raise MalformedRequest(f"{where}: expected a JSON object, got {type(data).__name__}")
    return data


def validate(model: type[BaseModel], data: dict[str, Any], where: str) -> BaseModel:
    """``data`` as ``model``, or :class:`InvalidInput` naming the first bad fields."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"'{'.'.join(str(part) for part in err['loc']) or 'body'}': {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)[:5]
        ]
        raise InvalidInput(f"{where}: " + "; ".join(problems)) from None


async def parse_request(request: Request, endpoint: Endpoint) -> BaseModel:
    """The validated body (query parameters for GET) of a request to ``endpoint``."""
    where = f"{request.method} {endpoint.path}"
    if request.method == "GET":
        data = _query_fields(request, endpoint.body)
    else:
        data = parse_json_object(await read_body(request), where)
    if request.path_params:
        # ``/logged-models/{model_id}``: the path names the thing, whatever the body says
        data = {**data, **request.path_params}
    return validate(endpoint.body, data, where)


async def call(
    request: Request, endpoint: Endpoint, client: Client, authorize: Authorize | None = None
) -> Response:
    """Parse, authorize, run the handler in a worker thread, answer JSON; errors become
    MLflow bodies."""
    body: BaseModel | None = None
    try:
        body = await parse_request(request, endpoint)
        if authorize is not None:
            await run_in_threadpool(authorize, body)
        result = await run_in_threadpool(endpoint.handler, client, body)
    except NotFound:
        # the store's own message names the id or name that came: the answer does not
        return error_response(NotFound(f"{request.method} {endpoint.path}: {endpoint.missing}"))
    except AlreadyExists:
        taken = _TAKEN_MODEL if "/registered-models/" in endpoint.path else _TAKEN
        return error_response(AlreadyExists(f"{request.method} {endpoint.path}: {taken}"))
    except ModelpackError as exc:
        if exc.http_status >= 500:
            log.error("%s %s failed: %s", request.method, endpoint.path, exc.error_code)
        return error_response(redacted(exc, body))
    except ClientDisconnect:
        return Response(status_code=400)
    return JSONResponse(result)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, (list, tuple)):
        return [s for item in value for s in _strings(item)]
    return []


def redacted(exc: ModelpackError, body: object) -> ModelpackError:
    """``exc`` with every string of the request (3+ characters) cut out of its message:
    the library quotes short names back to a local user, the server never echoes."""
    message = exc.message
    for text in sorted(set(_strings(body)), key=len, reverse=True):
        if len(text) >= 3 and text in message:
            message = message.replace(text, "<value sent>")
    if message == exc.message:
        return exc
    copy = type(exc).__new__(type(exc))
    ModelpackError.__init__(copy, message)
    return copy
