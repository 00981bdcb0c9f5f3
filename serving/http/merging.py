"""Merging queued requests into one model call, and splitting its output back by rows.

Requests merge when their merge keys are equal: the same columns (or array dtype and
trailing shape) and the same params. Column data not yet through the signature merges
only when every column has the same length, so that two wrong requests cannot add up
to a table that passes enforcement.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import accumulate, chain
from typing import Any

import numpy as np


def columns_key(data: Any, params: dict[str, Any] | None) -> tuple[int, Any]:
    """Rows and merge key of unenforced ``{column: list}`` data; key None = enforce alone.

    Only equal-length columns merge: otherwise two wrong requests could add up to a
    table that passes enforcement.
    """
    if not isinstance(data, dict) or not data:
        return 0, None
    rows = -1
    for name, values in data.items():
        if type(values) is not list or type(name) is not str:
            return 0, None
        if rows != len(values):
            if rows >= 0:
                return 0, None
            rows = len(values)
    pkey = params_key(params)
    if rows < 1 or pkey is ALONE:
        return 0, None
    return rows, ("columns", tuple(data), pkey)


#: what params_key answers for params that cannot be compared: the request runs alone
ALONE = object()


def params_key(params: dict[str, Any] | None) -> Any:
    """A comparable stand-in for ``params`` (None when there are none), or ``ALONE``."""
    if not params:
        return None
    try:
        return repr(sorted(params.items()))
    except TypeError:
        return ALONE


def merge_columns(items: list[dict[str, list[Any]]]) -> dict[str, list[Any]]:
    return {name: list(chain.from_iterable(d[name] for d in items)) for name in items[0]}


def rows_and_key(data: Any, params: dict[str, Any] | None) -> tuple[int, Any]:
    """Row count and a merge key (inputs with equal keys concatenate); key None = alone."""
    pkey = params_key(params)
    if pkey is ALONE:
        return 0, None
    if isinstance(data, np.ndarray):
        if data.ndim == 0:
            return 0, None
        return data.shape[0], ("nd", data.dtype.str, data.shape[1:], pkey)
    if type(data).__name__ == "DataFrame":
        # frames enforced against one schema share dtypes; reading .dtypes costs ~30 µs
        return len(data), ("df", tuple(data.columns), pkey)
    if isinstance(data, dict) and data and all(isinstance(v, np.ndarray) for v in data.values()):
        lengths = {v.shape[0] if v.ndim else -1 for v in data.values()}
        if len(lengths) != 1 or -1 in lengths:
            return 0, None
        shapes = tuple((k, v.dtype.str, v.shape[1:]) for k, v in data.items())
        return lengths.pop(), ("dict", shapes, pkey)
    return 0, None


def merge(items: list[Any]) -> Any:
    first = items[0]
    if isinstance(first, np.ndarray):
        return np.concatenate(items)
    if isinstance(first, dict):
        return {k: np.concatenate([d[k] for d in items]) for k in first}
    import pandas as pd

    if len(set(first.dtypes.tolist())) == 1 and first.dtypes.iloc[0].kind in "biuf":
        # one numeric dtype: stacking the arrays is ~40% cheaper than pd.concat
        stacked = np.concatenate([frame.to_numpy() for frame in items])
        return pd.DataFrame(stacked, columns=first.columns, copy=False)
    return pd.concat(items, ignore_index=True)


def split_rows(output: Any, counts: list[int]) -> list[Any] | None:
    """``output`` cut into consecutive pieces of ``counts`` rows, or None if it isn't row-wise.

    >>> split_rows(np.arange(3), [1, 2])
    [array([0]), array([1, 2])]
    """
    total = sum(counts)
    bounds = list(accumulate(counts, initial=0))  # np.cumsum of a list costs ~10 us
    cut: Callable[[Any, int, int], Any]
    if isinstance(output, np.ndarray) and output.ndim >= 1 and output.shape[0] == total:
        cut = lambda o, a, b: o[a:b]  # noqa: E731
    elif type(output).__name__ in ("DataFrame", "Series") and len(output) == total:
        cut = lambda o, a, b: o.iloc[a:b]  # noqa: E731
    elif isinstance(output, list) and len(output) == total:
        cut = lambda o, a, b: o[a:b]  # noqa: E731
    elif isinstance(output, dict) and all(
        isinstance(v, (np.ndarray, list)) and len(v) == total for v in output.values()
    ):
        cut = lambda o, a, b: {k: v[a:b] for k, v in o.items()}  # noqa: E731
    else:
        return None
    return [cut(output, bounds[i], bounds[i + 1]) for i in range(len(counts))]


__all__ = [
    "ALONE",
    "columns_key",
    "merge",
    "merge_columns",
    "params_key",
    "rows_and_key",
    "split_rows",
]
