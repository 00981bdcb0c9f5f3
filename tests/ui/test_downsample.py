"""Min/max per pixel bucket down-sampling: small, ordered, and spikes survive."""

from __future__ import annotations

import math
import random

import pytest

from modelpack.ui.downsample import minmax_downsample


def test_a_short_curve_is_returned_whole() -> None:
    xs, ys = [0.0, 1.0, 2.0], [3.0, 1.0, 2.0]
    assert minmax_downsample(xs, ys, 10) == (xs, ys)


def test_a_single_spike_survives_a_100x_reduction() -> None:
    n = 100_000
    xs = [float(i) for i in range(n)]
    ys = [math.sin(i / 1000) for i in range(n)]
    ys[54_321] = 40.0
    ys[77_777] = -40.0
    out_x, out_y = minmax_downsample(xs, ys, 500)
    assert len(out_x) <= 2 * 500 + 2
    assert max(out_y) == 40.0 and min(out_y) == -40.0
    assert out_x[out_y.index(40.0)] == 54_321.0
    assert out_x == sorted(out_x)
    assert (out_x[0], out_x[-1]) == (0.0, float(n - 1))


def test_every_bucket_keeps_its_extremes() -> None:
    rng = random.Random(7)
    xs = [float(i) for i in range(10_000)]
    ys = [rng.uniform(-1, 1) for _ in xs]
    out_x, out_y = minmax_downsample(xs, ys, 100)
    kept = dict(zip(out_x, out_y, strict=True))
    for bucket in range(100):
        span = range(bucket * 100, bucket * 100 + 100)
        assert max(ys[i] for i in span) in kept.values()
        assert min(ys[i] for i in span) in kept.values()


def test_uneven_x_spacing_is_bucketed_by_x_not_by_index() -> None:
    xs = [float(i) for i in range(1000)] + [10_000.0 + i for i in range(1000)]
    ys = [0.0] * 2000
    ys[1500] = 9.0
    out_x, out_y = minmax_downsample(xs, ys, 10)
    assert 9.0 in out_y and len(out_x) <= 22


def test_nan_points_are_dropped() -> None:
    xs = [float(i) for i in range(100)]
    ys = [math.nan if i % 2 else float(i) for i in range(100)]
    out_x, out_y = minmax_downsample(xs, ys, 5)
    assert not any(math.isnan(y) for y in out_y) and 98.0 in out_y


@pytest.mark.parametrize(("xs", "ys", "buckets"), [([1.0], [], 5), ([1.0], [1.0], 0)])
def test_bad_arguments_are_refused(xs: list[float], ys: list[float], buckets: int) -> None:
    with pytest.raises(ValueError):
        minmax_downsample(xs, ys, buckets)
