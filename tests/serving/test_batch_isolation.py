"""A bad request in a merged batch fails alone, and the good ones stay one batch."""

from __future__ import annotations

import asyncio
import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from serving_helpers import IRIS_COLUMNS

from modelpack.errors import ModelpackError
from modelpack.pyfunc_model import load_model
from modelpack.serving.http.batching import Batcher
from modelpack.serving.http.model_state import enforce


def _requests(frame: Any, n: int) -> list[dict[str, list[Any]]]:
    return [{c: [float(frame[c].iloc[i])] for c in IRIS_COLUMNS} for i in range(n)]


def _score(model_path: Path, requests: list[dict[str, list[Any]]]) -> tuple[list[Any], list[int]]:
    """Every request sent at once (queued before the dispatcher runs); the outcomes and
    the rows of each call the model got."""
    model = load_model(model_path)
    calls: list[int] = []
    batcher = Batcher(
        model,
        max_batch_rows=64,
        max_wait_ms=1,
        max_queue=64,
        observer=lambda rows, seconds: calls.append(rows),
        prepare=functools.partial(enforce, model),
    )

    async def scenario() -> list[Any]:
        try:
            return await asyncio.gather(
                *(batcher.predict(r, None, 30, prepared=False) for r in requests),
                return_exceptions=True,
            )
        finally:
            batcher.close()

    return asyncio.run(scenario()), calls


def _expected(model_path: Path, requests: list[dict[str, list[Any]]]) -> list[Any]:
    model = load_model(model_path)
    return [model.predict(r) for r in requests]


def test_a_request_refused_by_the_signature_leaves_the_rest_one_batch(
    iris_model: Path, iris_frame: Any
) -> None:
    frame, _ = iris_frame
    requests = _requests(frame, 16)
    requests[5] = {**requests[5], "sepal_width": ["not a number"]}
    outcomes, calls = _score(iris_model, requests)
    assert isinstance(outcomes[5], ModelpackError)
    assert "sepal_width" in outcomes[5].message
    good = [i for i in range(16) if i != 5]
    expected = _expected(iris_model, [requests[i] for i in good])
    for i, want in zip(good, expected, strict=True):
        np.testing.assert_array_equal(outcomes[i], want)
    # the 15 good requests went to the model once, together: not 15 one-row calls
    assert calls == [15]


@pytest.mark.parametrize("bad", [0, 7, 15])
def test_a_request_the_model_fails_on_is_found_by_halves(
    iris_model: Path, iris_frame: Any, bad: int
) -> None:
    frame, _ = iris_frame
    requests = _requests(frame, 16)
    requests[bad] = {**requests[bad], "petal_length": [math.nan]}  # passes the signature
    outcomes, calls = _score(iris_model, requests)
    assert isinstance(outcomes[bad], ModelpackError)
    good = [i for i in range(16) if i != bad]
    for i, want in zip(good, _expected(iris_model, [requests[i] for i in good]), strict=True):
        np.testing.assert_array_equal(outcomes[i], want)
    # 16 rows, then 8 + 8, 4 + 4, 2 + 2, 1 + 1: nine calls, where one per request was 17
    assert len(calls) <= 9, calls
    assert sum(calls) - 16 <= 4 * 8  # rows run again are bounded by log2(16) halvings
