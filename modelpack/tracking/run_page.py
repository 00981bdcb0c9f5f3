"""One page of an experiment's runs, cheap at 10,000 runs: ids first, values for the page.

``Client.search_runs`` loads every param, tag and latest metric of every run before
it filters. A page needs far less:

- no filter and at most one ordering on an attribute, a metric or a tag (the runs
  table's usual views): SQL orders and pages the run ids itself (``LIMIT``/``OFFSET``,
  missing values last, ties by start time then id, exactly as ``order_runs`` does);
- otherwise: the run rows and only the values the filter and the ordering read (one
  query per key) are loaded into small slotted objects, filtered and ordered by
  :func:`~modelpack.tracking.search.parse_filter` and
  :func:`~modelpack.tracking.search.order_runs` themselves.

Either way, full data is loaded only for the runs of the page, and a page holds exactly
the runs ``search_runs`` would return in that place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from modelpack.errors import InvalidInput
from modelpack.tracking.entities import Run
from modelpack.tracking.runs import load_runs
from modelpack.tracking.search import order_clause, order_runs, parse_filter, referenced_keys
from modelpack.tracking.stores import Store

#: the most runs one page may hold
MAX_PAGE_SIZE = 1000
# attributes SQL orders exactly as order_runs does (experiment_id is compared as text there)
_SQL_ATTRIBUTES = {"run_id", "run_name", "status", "start_time", "end_time"}
_LATEST = (
    "SELECT run_id, value FROM (SELECT run_id, value, ROW_NUMBER() OVER ("
    "PARTITION BY run_id ORDER BY step DESC, timestamp DESC) AS rn FROM metrics "
    "WHERE key = ? AND run_id IN ({subquery})) AS latest WHERE rn = 1"
)


@dataclass(frozen=True)
class RunPage:
    """``runs`` (full data) of one page, and how many runs matched in all."""

    runs: list[Run]
    total: int
    offset: int


class _Info:
    __slots__ = ("end_time", "experiment_id", "run_id", "run_name", "start_time", "status")

    def __init__(self, row: Any) -> None:
        self.run_id, self.run_name, self.status = row.run_id, row.run_name, row.status
        self.start_time, self.end_time = row.start_time, row.end_time
        self.experiment_id = str(row.experiment_id)


class _Data:
    __slots__ = ("metrics", "params", "tags")

    def __init__(self, empty: dict[str, Any]) -> None:
        self.metrics = self.params = self.tags = empty  # shared until a value is set


class _Light:
    """What a filter and an ordering read of a run, without the cost of a full Run."""

    __slots__ = ("data", "info")

    def __init__(self, row: Any, empty: dict[str, Any]) -> None:
        self.info = _Info(row)
        self.data = _Data(empty)


def _page_in_sql(
    store: Store, where: str, params: list[object], order_by: Sequence[str] | None,
    offset: int, size: int,
) -> list[str] | None:  # fmt: skip
    """The page's run ids ordered by SQL, or None when SQL cannot order them exactly."""
    order = "r.start_time DESC, r.run_id ASC"
    join, join_params = "", list[object]()
    if order_by:
        entity, key, descending = order_clause(order_by[0])
        direction = "DESC" if descending else "ASC"
        if entity == "attributes" and key in _SQL_ATTRIBUTES:
            order = f"(r.{key} IS NULL), r.{key} {direction}, {order}"
        elif entity in ("metrics", "tags"):
            subquery = f"SELECT run_id FROM runs WHERE {where}"
            source = (
                _LATEST.format(subquery=subquery)
                if entity == "metrics"
                else "SELECT run_id, value FROM tags WHERE key = ?"
            )
            join = f"LEFT JOIN ({source}) AS v ON v.run_id = r.run_id"
            join_params = [key, *params] if entity == "metrics" else [key]
            order = f"(v.value IS NULL), v.value {direction}, {order}"
        else:
            return None
    rows = store.read(
        f"SELECT r.run_id FROM runs AS r {join} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
        [*join_params, *params, size, offset],
    )
    return [row.run_id for row in rows]


def _page_in_python(
    store: Store, where: str, params: list[object], filter_string: str,
    order_by: Sequence[str] | None, offset: int, size: int,
) -> tuple[list[str], int]:  # fmt: skip
    keep = parse_filter(filter_string)
    columns = "run_id, run_name, experiment_id, status, start_time, end_time"
    empty: dict[str, Any] = {}
    light = {row.run_id: _Light(row, empty) for row in
             store.read(f"SELECT {columns} FROM runs WHERE {where}", params)}  # fmt: skip
    subquery = f"SELECT run_id FROM runs WHERE {where}"
    for entity, key in sorted(referenced_keys(filter_string, order_by)):
        sql = (
            _LATEST.format(subquery=subquery)
            if entity == "metrics"
            else f"SELECT run_id, value FROM {entity} WHERE key = ? AND run_id IN ({subquery})"
        )
        for row in store.read(sql, [key, *params]):
            data = light[row.run_id].data
            values = getattr(data, entity)
            if values is empty:
                values = {}
                setattr(data, entity, values)
            values[key] = float("nan") if row.value is None else row.value
    runs = cast(list[Run], list(light.values()))
    matched = order_runs([run for run in runs if keep(run)], order_by)
    return [run.info.run_id for run in matched[offset : offset + size]], len(matched)


def search_run_page(
    store: Store,
    experiment_ids: Sequence[str],
    filter_string: str = "",
    order_by: Sequence[str] | None = None,
    offset: int = 0,
    max_results: int = 100,
) -> RunPage:
    """Runs ``offset .. offset + max_results`` of ``search_runs``'s answer, and the total."""
    if not 1 <= max_results <= MAX_PAGE_SIZE:
        raise InvalidInput(f"max_results must be between 1 and {MAX_PAGE_SIZE}")
    if offset < 0:
        raise InvalidInput("offset must be 0 or more")
    parse_filter(filter_string)  # a bad filter or ordering fails here, before any query
    order_runs([], order_by)
    ids = [str(i) for i in experiment_ids]
    if not ids:
        return RunPage([], 0, offset)
    where = f"lifecycle_stage = 'active' AND experiment_id IN ({','.join('?' * len(ids))})"
    params: list[object] = list(ids)
    page_ids = None
    if not (filter_string or "").strip() and len(order_by or []) <= 1:
        page_ids = _page_in_sql(store, where, params, order_by, offset, max_results)
    if page_ids is not None:
        total = int(store.read(f"SELECT COUNT(*) AS n FROM runs WHERE {where}", params)[0].n)
    else:
        page_ids, total = _page_in_python(
            store, where, params, filter_string, order_by, offset, max_results
        )
    if not page_ids:
        return RunPage([], total, offset)
    full = {
        run.info.run_id: run
        for run in load_runs(store, f"run_id IN ({','.join('?' * len(page_ids))})", page_ids)
    }
    return RunPage([full[run_id] for run_id in page_ids], total, offset)


__all__ = ["MAX_PAGE_SIZE", "RunPage", "search_run_page"]
