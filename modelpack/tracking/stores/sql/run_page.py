"""One page of an experiment's runs and how many matched: what the runs table shows.

Both come from the database (:mod:`~modelpack.tracking.stores.sql.search`): the filter, the
order and ``LIMIT``/``OFFSET`` run as one query and only the page's runs are loaded
whole; the total is one ``COUNT`` over the same filter. A page holds exactly the runs
``search_runs`` returns in that place, so it stays cheap at 10,000 runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modelpack.errors import InvalidInput
from modelpack.tracking.entities import Run
from modelpack.tracking.search import order_runs, parse_filter
from modelpack.tracking.stores.sql.engine import Store
from modelpack.tracking.stores.sql.search import count_runs, search_runs

#: the most runs one page may hold
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class RunPage:
    """``runs`` (full data) of one page, and how many runs matched in all."""

    runs: list[Run]
    total: int
    offset: int


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
    total = count_runs(store, ids, filter_string)
    if offset >= total:
        return RunPage([], total, offset)
    return RunPage(
        search_runs(store, ids, filter_string, order_by, max_results, offset), total, offset
    )


__all__ = ["MAX_PAGE_SIZE", "RunPage", "search_run_page"]
