"""Down-sampling a metric curve for a chart: min and max per pixel bucket.

A chart ``width`` pixels wide cannot show more than two values per column, so a
100,000-point curve is cut into ``buckets`` equal spans of x and each span keeps its
lowest and its highest point, in x order. Unlike averaging or taking every n-th point,
a single spike survives. The first and last points are always kept; NaN points are
dropped (a chart shows them as gaps anyway). The work is numpy's: a 100,000-point
curve takes a few milliseconds.

>>> minmax_downsample(range(6), [1.0, 9.0, 2.0, 0.5, 3.0, 2.0], buckets=1)
([0.0, 1.0, 3.0, 5.0], [1.0, 9.0, 0.5, 2.0])
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def minmax_downsample(
    xs: ArrayLike, ys: ArrayLike, buckets: int
) -> tuple[list[float], list[float]]:
    """At most ``2 * buckets + 2`` points of ``(xs, ys)`` (sorted by x) that keep every
    bucket's minimum and maximum; the input itself when it is already that small."""
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("xs and ys must be sequences of the same length")
    if buckets < 1:
        raise ValueError("buckets must be 1 or more")
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    if len(x) <= 2 * buckets + 2:
        return x.tolist(), y.tolist()
    span = float(x[-1] - x[0]) or 1.0
    bucket = np.minimum(((x - x[0]) / span * buckets).astype(np.int64), buckets - 1)
    # each bucket's first index (x is sorted, so buckets are runs), then the position of
    # its lowest and highest value: the first one, as a scan from the left finds it
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    lows = _arg_per_run(y, starts, np.minimum)
    highs = _arg_per_run(y, starts, np.maximum)
    kept = np.unique(np.r_[0, lows, highs, len(x) - 1])
    return x[kept].tolist(), y[kept].tolist()


def _arg_per_run(y: np.ndarray, starts: np.ndarray, pick: np.ufunc) -> np.ndarray:
    """For each run ``y[starts[i]:starts[i+1]]``, the index of its first extreme value."""
    extreme = pick.reduceat(y, starts)
    run_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(y)]))
    hits = np.flatnonzero(y == extreme[run_of])
    first = np.unique(run_of[hits], return_index=True)[1]
    return hits[first]


__all__ = ["minmax_downsample"]
