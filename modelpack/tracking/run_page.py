"""One page of an experiment's runs, cheap at 10,000 runs: ids first, values for the page.

``Client.search_runs`` loads every param, tag and latest metric of every run before
it filters. A page needs far less: the run rows, the few values the filter and the
ordering read (one indexed query per key), then everything only for the runs of the
page. Filtering and ordering are :func:`~modelpack.tracking.search.parse_filter` and
:func:`~modelpack.tracking.search.order_runs` themselves, so a page holds exactly the
runs ``search_runs`` would return in that place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modelpack.errors import InvalidInput
from modelpack.tracking.entities import Run, RunData, RunInfo
from modelpack.tracking.runs import load_runs
from modelpack.tracking.search import order_runs, parse_filter, referenced_keys
from modelpack.tracking.stores import Store

#: the most runs one page may hold
MAX_PAGE_SIZE = 1000

_RUN_COLUMNS = (
    "run_id, run_name, experiment_id, status, start_time, end_time, lifecycle_stage, parent_run_id"
)


@dataclass(frozen=True)
class RunPage:
    """``runs`` (full data) of one page, and how many runs matched in all."""

    runs: list[Run]
    total: int
    offset: int


def _load_key(
    store: Store, entity: str, key: str, where: str, params: list[object]
) -> list[tuple[str, object]]:
    subquery = f"SELECT run_id FROM runs WHERE {where}"
    if entity == "metrics":
        sql = (
            "SELECT run_id, value FROM (SELECT run_id, value, ROW_NUMBER() OVER ("
            "PARTITION BY run_id ORDER BY step DESC, timestamp DESC) AS rn FROM metrics "
            f"WHERE key = ? AND run_id IN ({subquery})) AS latest WHERE rn = 1"
        )
    else:
        sql = f"SELECT run_id, value FROM {entity} WHERE key = ? AND run_id IN ({subquery})"
    return [(row.run_id, row.value) for row in store.read(sql, [key, *params])]


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
    keep = parse_filter(filter_string)
    keys = referenced_keys(filter_string, order_by)
    order_runs([], order_by)  # an unknown ordering key fails here, before any query
    ids = [str(i) for i in experiment_ids]
    if not ids:
        return RunPage([], 0, offset)
    where = f"lifecycle_stage = 'active' AND experiment_id IN ({','.join('?' * len(ids))})"
    params: list[object] = list(ids)
    rows = store.read(f"SELECT {_RUN_COLUMNS} FROM runs WHERE {where}", params)
    data = {row.run_id: RunData() for row in rows}
    for entity, key in sorted(keys):
        for run_id, value in _load_key(store, entity, key, where, params):
            target = getattr(data[run_id], entity)
            target[key] = float("nan") if value is None else value
    light = [
        Run(
            RunInfo(
                row.run_id, row.run_name, str(row.experiment_id), row.status, row.start_time,
                row.end_time, "", row.lifecycle_stage, row.parent_run_id,
            ),
            data[row.run_id],
        )
        for row in rows
    ]  # fmt: skip
    matched = order_runs([run for run in light if keep(run)], order_by)
    page_ids = [run.info.run_id for run in matched[offset : offset + max_results]]
    if not page_ids:
        return RunPage([], len(matched), offset)
    full = {
        run.info.run_id: run
        for run in load_runs(store, f"run_id IN ({','.join('?' * len(page_ids))})", page_ids)
    }
    return RunPage([full[run_id] for run_id in page_ids], len(matched), offset)


__all__ = ["MAX_PAGE_SIZE", "RunPage", "search_run_page"]
