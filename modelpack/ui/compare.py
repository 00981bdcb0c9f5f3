"""Compare 2 to 50 runs: overlaid metric curves, a param/metric diff table and a
parallel coordinates plot (server-rendered SVG, :mod:`modelpack.ui.parallel`)."""

from __future__ import annotations

from urllib.parse import quote

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelpack.tracking.client import Client
from modelpack.tracking.entities import Run
from modelpack.ui.parallel import parallel_svg
from modelpack.ui.run import RUN_ID
from modelpack.ui.web import PageError, in_thread, page, render, require

MIN_RUNS, MAX_RUNS = 2, 50
MAX_AXES = 12
MAX_CHARTS = 30


def _run_ids(request: Request) -> list[str]:
    ids = list(dict.fromkeys(request.query_params.getlist("runs")))
    if not MIN_RUNS <= len(ids) <= MAX_RUNS:
        raise PageError(400, f"Choose from {MIN_RUNS} to {MAX_RUNS} different runs to compare.")
    if not all(RUN_ID.fullmatch(run_id) for run_id in ids):
        raise PageError(404, "One of these runs does not exist: run ids are 32 hex digits.")
    return ids


def diff_rows(runs: list[Run], kind: str) -> list[tuple[str, list[object], bool]]:
    """``(key, one value per run, whether they differ)`` for every param or metric key."""
    keys = sorted({key for run in runs for key in getattr(run.data, kind)})
    rows = []
    for key in keys:
        values = [getattr(run.data, kind).get(key) for run in runs]
        rows.append((key, values, len({repr(v) for v in values}) > 1))
    return rows


@page
async def compare_page(request: Request) -> Response:
    client: Client = request.app.state.client
    ids = _run_ids(request)
    runs = [await in_thread(client.get_run, run_id) for run_id in ids]
    for experiment_id in {run.info.experiment_id for run in runs}:
        require(request, "READ", experiment_id)
    params, metrics = diff_rows(runs, "params"), diff_rows(runs, "metrics")
    varying = [("params." + k, v) for k, v, differs in params if differs]
    axes = (varying or [("params." + k, v) for k, v, _ in params])[: MAX_AXES // 2]
    axes += [("metrics." + k, v) for k, v, _ in metrics][: MAX_AXES - len(axes)]
    labels = [run.info.run_name for run in runs]
    svg = parallel_svg(
        [a for a, _ in axes], labels, [[v[r] for _, v in axes] for r in range(len(runs))]
    )
    root = request.scope.get("root_path", "").rstrip("/")
    charts = [
        (key, [f"{root}/runs/{run.info.run_id}/series?x=step&key={quote(key, safe='')}"
               for run in runs if key in run.data.metrics],
         [run.info.run_name for run in runs if key in run.data.metrics])
        for key, _, _ in metrics[:MAX_CHARTS]
    ]  # fmt: skip
    return render(
        request,
        "compare.html",
        runs=runs,
        params=params,
        metrics=metrics,
        charts=charts,
        parallel=Markup(svg) if len(axes) >= 2 else None,  # every label is escaped
        more_charts=max(0, len(metrics) - MAX_CHARTS),
    )


def routes() -> list[Route]:
    return [Route("/compare", compare_page, name="compare")]


__all__ = ["diff_rows", "routes"]
