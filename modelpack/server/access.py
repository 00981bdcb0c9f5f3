"""Who is asking and what they may touch: authentication of a request and the check of
its scopes against the caller's role and grants (``--auth``)."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from modelpack.errors import ModelpackError, PermissionDenied
from modelpack.server.auth import AuthStore
from modelpack.server.endpoint import Authorize, Endpoint, Permission, Scope, error_response
from modelpack.server.routes import experiment_of
from modelpack.tracking.client import Client


async def identify(request: Request, auth: AuthStore) -> tuple[str, Permission] | Response:
    """(user, role) behind the request's credentials, or the 401 answer to send."""
    try:
        # a thread: scrypt for a first Basic login must not stall the event loop
        header = request.headers.get("authorization", "")
        return await run_in_threadpool(auth.authenticate, header)
    except ModelpackError as exc:
        response = error_response(exc)
        response.headers["WWW-Authenticate"] = 'Basic realm="modelpack"'
        return response


def scopes_of(endpoint: Endpoint, client: Client, body: BaseModel) -> list[Scope]:
    """What a request to ``endpoint`` acts on, each with the permission it needs."""
    if endpoint.scope is not None:
        return endpoint.scope(client, body)
    experiment_id = experiment_of(client, body)
    if experiment_id is None:
        return []
    return [Scope("experiment", (experiment_id,), endpoint.permission)]


def check_scopes(
    auth: AuthStore, user: str, role: Permission, scopes: list[Scope], path: str, need: Permission
) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` may act on every scope (with no
    scope, the role decides)."""
    if not scopes:
        if role < need:
            raise PermissionDenied(
                f"{path} needs the role {need.name}; you have {role.name} — ask an admin "
                "('modelpack server users grant')"
            )
        return
    for scope in scopes:
        level = max(auth.permission_on(user, role, key, scope.kind) for key in scope.keys)
        if level < scope.need:
            raise PermissionDenied(
                f"{path} needs {scope.need.name} on this {scope.kind}; you have {level.name} "
                "— ask for a grant ('modelpack server users grant')"
            )


def authorizer(
    endpoint: Endpoint, client: Client, auth: AuthStore, user: str, role: Permission
) -> Authorize:
    """The check :func:`~modelpack.server.endpoint.call` runs on a validated body."""

    def authorize(body: BaseModel) -> None:
        scopes = scopes_of(endpoint, client, body)
        check_scopes(auth, user, role, scopes, endpoint.path, endpoint.permission)

    return authorize


__all__ = ["authorizer", "check_scopes", "identify", "scopes_of"]
