"""Artifacts through the server: MLflow's proxy routes
(``/api/2.0/mlflow-artifacts/artifacts/<path>`` PUT, GET, DELETE and the ``?path=``
listing) and ``/api/2.0/mlflow/artifacts/list`` for one run.

Every byte goes through :mod:`modelpack.server.artifact_io`. Reading a run's or logged
model's artifacts needs READ on its experiment, writing or deleting them EDIT; a
registered version's snapshot needs READ on a model that registered it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from pydantic import Field, StrictStr
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from modelpack.errors import InvalidInput, ModelpackError, NotFound
from modelpack.server import artifact_io
from modelpack.server.access import check_scopes, identify
from modelpack.server.auth import AuthStore
from modelpack.server.endpoint import Endpoint, Permission, error_response
from modelpack.server.routes import PREFIX
from modelpack.server.wire import RunRef, Text, Wire
from modelpack.tracking.client import Client

PROXY = "/api/2.0/mlflow-artifacts/artifacts"
_MISSING = "no artifact, run or logged model at this path; check the path"


class ListArtifacts(RunRef):
    path: Text | None = None
    page_token: Text | None = None


class ProxyList(Wire):
    path: Annotated[StrictStr, Field(max_length=2048)] | None = None


def list_run_artifacts(client: Client, body: ListArtifacts) -> dict[str, Any]:
    run_id = body.the_run_id()
    if run_id is None:
        raise InvalidInput("missing value for required parameter 'run_id'; name the run")
    place = artifact_io.run_place(client.store, run_id, body.path)
    prefix = f"{place.relative}/" if place.relative else ""
    files = [
        {**info, "path": prefix + str(info["path"])}
        for info in artifact_io.list_children(client.store, place)
    ]
    run = client.get_run(run_id)
    root = f"mlflow-artifacts:/{run.info.experiment_id}/{run_id}/artifacts"
    return {"root_uri": root, "files": files}


#: JSON endpoints about artifacts (the proxy's byte routes are :func:`proxy_routes`)
ARTIFACT_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        f"{PREFIX}/artifacts/list",
        ("GET",),
        ListArtifacts,
        Permission.READ,
        list_run_artifacts,
        _MISSING,
    ),  # fmt: skip
)

_NEED = {
    "GET": Permission.READ,
    "HEAD": Permission.READ,  # Starlette answers HEAD wherever GET is routed
    "PUT": Permission.EDIT,
    "DELETE": Permission.EDIT,
}


def proxy_routes(client: Client, auth: AuthStore | None, limit: int) -> list[Route]:
    """The proxy's routes on ``client``'s store, uploads bounded by ``limit`` bytes."""
    store = client.store

    async def guarded(
        request: Request, raw_path: str, work: Callable[[artifact_io.Place], Awaitable[Response]]
    ) -> Response:
        need = _NEED[request.method]
        try:
            who = await identify(request, auth) if auth is not None else None
            if isinstance(who, Response):
                return who
            place = artifact_io.parse_path(raw_path)
            if auth is not None and who is not None and who[1] < need:
                scopes = await run_in_threadpool(artifact_io.scopes, store, place, need)
                await run_in_threadpool(check_scopes, auth, who[0], who[1], scopes, PROXY, need)
            return await work(place)
        except NotFound:
            return error_response(NotFound(f"{request.method} {PROXY}: {_MISSING}"))
        except ModelpackError as exc:
            return error_response(exc)
        except ClientDisconnect:
            return Response(status_code=400)

    async def one(request: Request) -> Response:
        raw_path = request.path_params["path"]

        async def download(place: artifact_io.Place) -> Response:
            size, chunks = await run_in_threadpool(artifact_io.open_file, store, place)
            # a remote (S3) store streams without a known length: chunked encoding
            headers = {} if size is None else {"Content-Length": str(size)}
            return StreamingResponse(chunks, media_type="application/octet-stream", headers=headers)

        async def upload(place: artifact_io.Place) -> Response:
            await artifact_io.write_stream(store, place, request.stream(), limit)
            return JSONResponse({})

        async def remove(place: artifact_io.Place) -> Response:
            await run_in_threadpool(artifact_io.delete, store, place)
            return JSONResponse({})

        work = {"GET": download, "HEAD": download, "PUT": upload, "DELETE": remove}[request.method]
        return await guarded(request, raw_path, work)

    async def listing(request: Request) -> Response:
        raw_path = request.query_params.get("path", "")

        async def children(place: artifact_io.Place) -> Response:
            files = await run_in_threadpool(artifact_io.list_children, store, place)
            return JSONResponse({"files": files})

        return await guarded(request, raw_path, children)

    return [
        Route(PROXY, listing, methods=["GET"]),
        Route(PROXY + "/{path:path}", one, methods=["GET", "PUT", "DELETE"]),
    ]
