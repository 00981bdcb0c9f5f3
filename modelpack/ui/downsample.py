"""Down-sampling a metric curve for a chart: min and max per pixel bucket.

A chart ``width`` pixels wide cannot show more than two values per column, so a
100,000-point curve is cut into ``buckets`` equal spans of x and each span keeps its
lowest and its highest point, in x order. Unlike averaging or taking every n-th point,
a single spike survives. The first and last points are always kept; NaN points are
dropped (a chart shows them as gaps anyway).

>>> minmax_downsample([0, 1, 2, 3], [1.0, 9.0, 2.0, 3.0], buckets=1)
([0, 1, 3], [1.0, 9.0, 3.0])
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def minmax_downsample(
    xs: Sequence[float], ys: Sequence[float], buckets: int
) -> tuple[list[float], list[float]]:
    """At most ``2 * buckets + 2`` points of ``(xs, ys)`` (sorted by x) that keep every
    bucket's minimum and maximum; the input itself when it is already that small."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys must have the same length")
    if buckets < 1:
        raise ValueError("buckets must be 1 or more")
    points = [(x, y) for x, y in zip(xs, ys, strict=True) if not math.isnan(y)]
    if len(points) <= 2 * buckets + 2:
        return [p[0] for p in points], [p[1] for p in points]
    first_x, last_x = points[0][0], points[-1][0]
    span = (last_x - first_x) or 1.0
    kept: list[int] = [0]
    low = high = -1
    current = -1
    for i, (x, y) in enumerate(points):
        bucket = min(buckets - 1, int((x - first_x) / span * buckets))
        if bucket != current:
            if current >= 0:
                kept.extend(sorted({low, high}))
            current, low, high = bucket, i, i
        else:
            if y < points[low][1]:
                low = i
            if y > points[high][1]:
                high = i
    kept.extend(sorted({low, high}))
    kept.append(len(points) - 1)
    ordered = sorted(set(kept))
    return [points[i][0] for i in ordered], [points[i][1] for i in ordered]


__all__ = ["minmax_downsample"]
