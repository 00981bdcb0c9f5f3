"""The run page (params, metrics, tags, charts, artifacts, logged models) and its data.

Charts fetch ``/runs/<id>/series?key=…&x=step|time&width=…``: the curve, down-sampled
on the server by min/max per pixel bucket when it has more points than the chart has
pixels (:mod:`modelpack.ui.downsample`); the answer says when it was.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from modelpack.errors import InvalidInput
from modelpack.tracking.client import Client
from modelpack.ui import artifacts
from modelpack.ui.downsample import minmax_downsample
from modelpack.ui.web import PageError, in_thread, page, render, require

RUN_ID = re.compile(r"[0-9a-f]{32}")
MAX_WIDTH = 4000
MAX_KEY = 250


def run_id_of(request: Request) -> str:
    """The run id in the path, checked to look like one (404 otherwise)."""
    run_id = str(request.path_params["run_id"])
    if not RUN_ID.fullmatch(run_id):
        raise PageError(404, "There is no run with this id: run ids are 32 hex digits.")
    return run_id


def series(client: Client, run_id: str, key: str, x: str, width: int) -> dict[str, object]:
    """One metric curve as ``{"x": [...], "y": [...], "points": n, "downsampled": bool}``."""
    import numpy as np

    points = client.get_metric_points(run_id, key)
    table = np.array(points, dtype=np.float64).reshape(-1, 3)  # value, timestamp, step
    ys = table[:, 0]
    xs = table[:, 2] if x == "step" else table[:, 1] / 1000
    order = np.argsort(xs, kind="stable")  # by step or time, ties as logged
    shown_x, shown_y = minmax_downsample(xs[order], ys[order], width)
    return {
        "key": key,
        "x": shown_x,
        "y": shown_y,
        "points": len(points),
        "shown": len(shown_x),
        "downsampled": len(shown_x) < int(np.count_nonzero(~np.isnan(ys))),
    }


def series_params(request: Request) -> tuple[str, str, int]:
    """``key``, ``x`` (step or time) and ``width`` from the query, checked."""
    key = request.query_params.get("key", "")
    x = request.query_params.get("x", "step")
    raw_width = request.query_params.get("width", "1000")
    if not key or len(key) > MAX_KEY:
        raise PageError(400, f"'key' must name a metric (1 to {MAX_KEY} characters).")
    if x not in ("step", "time"):
        raise PageError(400, "'x' must be step or time.")
    if not raw_width.isdigit() or not 10 <= int(raw_width) <= MAX_WIDTH:
        raise PageError(400, f"'width' must be a whole number from 10 to {MAX_WIDTH}.")
    return key, x, int(raw_width)


@page
async def run_page(request: Request) -> Response:
    client: Client = request.app.state.client
    run_id = run_id_of(request)
    run = await in_thread(client.get_run, run_id)
    require(request, "READ", run.info.experiment_id)
    experiment = await in_thread(client.get_experiment, run.info.experiment_id)
    files = await in_thread(client.list_artifacts, run_id)
    models = []
    for folder in artifacts.model_dirs(files):
        found = await in_thread(artifacts.summary, client, run_id, folder)
        if found is not None:
            models.append((folder, found))
    chosen = request.query_params.get("artifact")
    shown = await in_thread(artifacts.preview, client, run_id, chosen) if chosen else None
    x = request.query_params.get("x", "step")
    return render(
        request,
        "run.html",
        run=run,
        experiment=experiment,
        files=files,
        models=models,
        preview=shown,
        x="time" if x == "time" else "step",
        metric_keys=sorted(run.data.metrics),
    )


@page
async def run_series(request: Request) -> Response:
    client: Client = request.app.state.client
    run_id = run_id_of(request)
    key, x, width = series_params(request)
    if getattr(request.state, "guard", None) is not None:  # the grant is per experiment
        run = await in_thread(client.get_run, run_id)
        require(request, "READ", run.info.experiment_id)
    try:
        data = await in_thread(series, client, run_id, key, x, width)
    except InvalidInput:
        raise PageError(400, "'key' is not a valid metric key.") from None
    if data["points"] == 0:
        await in_thread(client.get_run, run_id)  # an unknown run is a 404, not an empty curve
    return JSONResponse(data)


@page
async def artifact_raw(request: Request) -> Response:
    client: Client = request.app.state.client
    run_id = run_id_of(request)
    run = await in_thread(client.get_run, run_id)
    require(request, "READ", run.info.experiment_id)
    body, media = await in_thread(
        artifacts.raw_image, client, run_id, request.query_params.get("path", "")
    )
    return Response(
        body,
        media_type=media,
        headers={"Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'",
                 "X-Content-Type-Options": "nosniff"},
    )  # fmt: skip


def routes() -> list[Route]:
    return [
        Route("/runs/{run_id}", run_page, name="run"),
        Route("/runs/{run_id}/series", run_series, name="run_series"),
        Route("/runs/{run_id}/artifact", artifact_raw, name="artifact_raw"),
    ]


__all__ = ["routes", "run_id_of", "series", "series_params"]
