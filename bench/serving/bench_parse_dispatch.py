"""What deciding "parse on the event loop or in a thread" costs a 1-row request.

Times, in the same run, the decision before (``len(body) <= 64 KB and not
is_parquet(ct)``) and now (``len(body) <= _inline_limit(ct)``, CSV inline only up to
1 KB), against ``parse_request`` of the same 1-row JSON and CSV bodies (the baseline),
and the ``asyncio.to_thread`` hop a CSV body over 1 KB now pays.

    python bench/serving/bench_parse_dispatch.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import timeit
from collections.abc import Callable

from modelpack.serving.http.app import INLINE_PARSE_BYTES, _inline_limit
from modelpack.serving.parsing import is_parquet, parse_request

LIMIT = 256 * 1024 * 1024  # the default --max-decoded-bytes
BODIES = [
    (
        "1-row JSON",
        "application/json",
        b'{"dataframe_split": {"columns": ["a", "b", "c", "d"], "data": [[5.1, 3.5, 1.4, 0.2]]}}',
    ),
    ("1-row CSV", "text/csv", b"a,b,c,d\n5.1,3.5,1.4,0.2\n"),
]


def _best(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Microseconds per call, best of ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def _hop_us(number: int) -> float:
    async def hops() -> float:
        start = timeit.default_timer()
        for _ in range(number):
            await asyncio.to_thread(int)
        return (timeit.default_timer() - start) / number * 1e6

    return asyncio.run(hops())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'body':<12}{'parse us':>10}{'before us':>11}{'now us':>9}{'now/parse':>11}")
    for label, ct, body in BODIES:
        parse = _best(
            lambda body=body, ct=ct: parse_request(body, ct, None, LIMIT), 2_000, args.repeat
        )
        before = _best(
            lambda body=body, ct=ct: len(body) <= INLINE_PARSE_BYTES and not is_parquet(ct),
            200_000,
            args.repeat,
        )
        now = _best(lambda body=body, ct=ct: len(body) <= _inline_limit(ct), 200_000, args.repeat)
        print(f"{label:<12}{parse:>10.2f}{before:>11.3f}{now:>9.3f}{now / parse:>11.4f}")
    hop = min(_hop_us(2_000) for _ in range(args.repeat))
    print(f"asyncio.to_thread hop: {hop:.1f} us")


if __name__ == "__main__":
    main()
