"""What the body limits add to a request: JSON depth and decoded-size checks vs decoding.

For 1-row and 100-row ``dataframe_split`` bodies (what bench_serving.py sends), and a
100-row body with text values, times ``orjson.loads`` (the baseline) and the checks
``parse_request`` now runs on every JSON body, in the same run; prints the checks'
cost as a fraction of decoding.

    python bench/serving/bench_body_limits.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable

import orjson

from modelpack.serving.body_limits import check_json_depth, check_text_table

LIMIT = 256 * 1024 * 1024  # the default --max-decoded-bytes


def _body(rows: int, text: bool = False) -> bytes:
    row: list[object] = [5.1, 3.5, 1.4, 0.2]
    if text:
        row = ["paris [north]", 31, 2500.5, "a {b}"]
    columns = ["a", "b", "c", "d"]
    return json.dumps({"dataframe_split": {"columns": columns, "data": [row] * rows}}).encode()


def _best(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Microseconds per call, best of ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'body':<22}{'bytes':>8}{'orjson.loads us':>18}{'checks us':>12}{'ratio':>8}")
    for label, body in [
        ("1-row", _body(1)),
        ("100-row", _body(100)),
        ("100-row with text", _body(100, text=True)),
    ]:
        number = 20_000 if len(body) < 1000 else 2_000
        decode = _best(lambda body=body: orjson.loads(body), number, args.repeat)
        checks = _best(
            lambda body=body: (check_json_depth(body, None), check_text_table(body, LIMIT, "x")),
            number,
            args.repeat,
        )
        print(f"{label:<22}{len(body):>8}{decode:>18.2f}{checks:>12.2f}{checks / decode:>8.2f}")


if __name__ == "__main__":
    main()
