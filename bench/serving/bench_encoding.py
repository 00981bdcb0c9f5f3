"""The cost of writing ``/invocations`` bodies byte for byte as MLflow does.

``encode_predictions`` (MLflow's bytes: ``", "`` separators, float32 as doubles) against
the compact orjson body it replaced, measured in the same run, per answer kind:

    python bench/serving/bench_encoding.py [--repeat 7]

Prints microseconds per body (best of ``--repeat`` timings) and the ratio new / orjson.
Exit status 0 when the class-label answers (the fast path: iris, RF) stay within 1.5x
of orjson, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pandas as pd

from modelpack.serving.encoding import encode_predictions, jsonable

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def _orjson_body(predictions: Any) -> bytes:
    """The body as modelpack wrote it before: compact orjson."""
    if type(predictions).__name__ == "Series":
        predictions = predictions.to_frame(0 if predictions.name is None else predictions.name)
    return orjson.dumps({"predictions": jsonable(predictions)}, option=_NUMPY)


def _time(fn: Callable[[], Any], repeat: int) -> float:
    number = 2000
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    cases = {
        "labels, 1 row": (np.array([2]), True),
        "labels, 100 rows": (rng.integers(0, 3, 100), True),
        "float64, 1 row": (np.array([3.25]), False),
        "float32 probabilities, 100x3": (rng.random((100, 3), dtype=np.float32), False),
        "records, 100 rows x 2": (
            pd.DataFrame({"total": rng.random(100), "label": rng.integers(0, 3, 100)}),
            False,
        ),
    }
    print(f"{'answer':32} {'orjson µs':>10} {'MLflow bytes µs':>16} {'ratio':>6}")
    ok = True
    for name, (value, fast_path) in cases.items():
        before = _time(lambda v=value: _orjson_body(v), args.repeat)
        after = _time(lambda v=value: encode_predictions(v), args.repeat)
        ratio = after / before
        print(f"{name:32} {before:10.2f} {after:16.2f} {ratio:6.2f}")
        if fast_path and ratio > 1.5:
            ok = False
    print("target: class labels within 1.5x of orjson —", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
