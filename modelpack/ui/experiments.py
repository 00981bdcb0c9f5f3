"""The experiments list and an experiment's runs table (sortable, filterable, paged).

The view lives in the URL: ``?filter=…&order=metrics.rmse+DESC&col=params.alpha&page=2``,
so a link shares it. Only one page of runs is loaded (:meth:`Client.search_runs_page`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelpack.errors import InvalidInput
from modelpack.tracking.client import Client
from modelpack.tracking.entities import Run
from modelpack.ui.web import PageError, in_thread, page, render, require

PAGE_SIZES = (25, 50, 100, 200)
MAX_COLUMNS = 60
MAX_FILTER = 4000
_DEFAULT_PER_KIND = 10
_COLUMN = re.compile(r"(metrics|params|tags)\.(.{1,250})", re.DOTALL)
_EXPERIMENT_ID = re.compile(r"\d{1,18}")


@dataclass(frozen=True)
class Column:
    """One chosen column: ``metrics.rmse`` is kind ``metrics``, key ``rmse``."""

    kind: str
    key: str

    @property
    def ref(self) -> str:
        return f"{self.kind}.{self.key}"

    @property
    def order_key(self) -> str:
        return f"{self.kind}.`{self.key}`"

    def value(self, run: Run) -> object:
        return getattr(run.data, self.kind).get(self.key)


def experiment_id_of(request: Request) -> str:
    """The experiment id in the path, checked to be a number (404 otherwise)."""
    experiment_id = str(request.path_params["experiment_id"])
    if not _EXPERIMENT_ID.fullmatch(experiment_id):
        raise PageError(404, "There is no experiment with this id: ids are numbers.")
    return experiment_id


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 9 or not low <= int(raw) <= high:
        raise PageError(400, f"'{name}' must be a whole number from {low} to {high}.")
    return int(raw)


def _columns(request: Request) -> list[Column]:
    raw = request.query_params.getlist("col")
    if len(raw) > MAX_COLUMNS:
        raise PageError(400, f"Choose at most {MAX_COLUMNS} columns.")
    columns = []
    for text in raw:
        match = _COLUMN.fullmatch(text)
        if match is None:
            raise PageError(400, "A column must be metrics.<key>, params.<key> or tags.<key>.")
        columns.append(Column(match[1], match[2]))
    return list(dict.fromkeys(columns))


def _order(request: Request) -> tuple[str, bool]:
    """The ordering column reference and whether it is descending ('' for newest first)."""
    raw = request.query_params.get("order", "")
    if len(raw) > 300:
        raise PageError(400, "The sort key is too long.")
    descending = raw.endswith(" DESC")
    return raw.removesuffix(" DESC").removesuffix(" ASC"), descending


def _available(runs: list[Run]) -> dict[str, list[str]]:
    found: dict[str, set[str]] = {"metrics": set(), "params": set(), "tags": set()}
    for run in runs:
        for kind, keys in found.items():
            keys.update(k for k in getattr(run.data, kind) if not k.startswith("mlflow."))
    return {kind: sorted(keys) for kind, keys in found.items()}


@page
async def experiments_list(request: Request) -> Response:
    client: Client = request.app.state.client
    experiments = await in_thread(client.search_experiments)
    guard = getattr(request.state, "guard", None)
    if guard is not None:  # only the experiments this user may read
        experiments = [e for e in experiments if guard("READ", e.experiment_id)]
    return render(request, "experiments.html", experiments=experiments)


@page
async def runs_table(request: Request) -> Response:
    client: Client = request.app.state.client
    experiment_id = experiment_id_of(request)
    require(request, "READ", experiment_id)
    experiment = await in_thread(client.get_experiment, experiment_id)
    filter_string = request.query_params.get("filter", "")
    if len(filter_string) > MAX_FILTER:
        raise PageError(400, f"The filter is longer than {MAX_FILTER} characters.")
    size = _int_param(request, "size", 50, 1, 10**9)
    if size not in PAGE_SIZES:
        raise PageError(400, f"'size' must be one of {', '.join(map(str, PAGE_SIZES))}.")
    number = _int_param(request, "page", 1, 1, 10**9)
    columns = _columns(request)
    order_ref, descending = _order(request)
    order_by = None
    if order_ref:
        match = _COLUMN.fullmatch(order_ref)
        key = Column(match[1], match[2]).order_key if match else order_ref
        order_by = [f"{key} {'DESC' if descending else 'ASC'}"]
    filter_error = None
    try:
        result = await in_thread(
            client.search_runs_page,
            [experiment_id], filter_string, order_by, (number - 1) * size, size,
        )  # fmt: skip
    except InvalidInput as exc:
        filter_error = exc.message
        result = None
    runs = result.runs if result else []
    total = result.total if result else 0
    pages = max(1, -(-total // size))
    if result is not None and number > pages:
        raise PageError(404, f"There is no page {number}: this view has {pages}.")
    available = _available(runs)
    if not columns:
        columns = [Column("metrics", k) for k in available["metrics"][:_DEFAULT_PER_KIND]]
        columns += [Column("params", k) for k in available["params"][:_DEFAULT_PER_KIND]]
    chosen = [c.ref for c in columns] if request.query_params.getlist("col") else []
    base = f"{request.scope.get('root_path', '').rstrip('/')}/experiments/{experiment_id}"

    def view(to_page: int, to_order: str | None = None, to_desc: bool | None = None) -> str:
        """The URL of this view on another page or in another order."""
        ref = order_ref if to_order is None else to_order
        desc = descending if to_desc is None else to_desc
        fields = [("filter", filter_string)] if filter_string else []
        fields += [("order", f"{ref} DESC" if desc else ref)] if ref else []
        fields += [("col", c) for c in chosen] + [("page", str(to_page)), ("size", str(size))]
        return f"{base}?{urlencode(fields)}"

    return render(
        request,
        "runs.html",
        view=view,
        experiment=experiment,
        runs=runs,
        total=total,
        columns=columns,
        available=available,
        chosen=chosen,
        filter=filter_string,
        filter_error=filter_error,
        order=order_ref,
        descending=descending,
        page=number,
        pages=pages,
        size=size,
        sizes=PAGE_SIZES,
    )


def routes() -> list[Route]:
    return [
        Route("/", experiments_list, name="experiments"),
        Route("/experiments/{experiment_id}", runs_table, name="runs"),
    ]


__all__ = ["Column", "experiment_id_of", "routes"]
