"""An overloaded server answers early 503s with ``Retry-After``, not late 504s."""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path
from typing import Any

import httpx
from serving_helpers import Server


def _slow(server: Server, delay: float) -> tuple[httpx.Response, float]:
    start = time.monotonic()
    response = server.client.post(
        "/invocations",
        json={"dataframe_split": {"columns": ["x"], "data": [[1.0]]}, "params": {"delay": delay}},
    )
    return response, time.monotonic() - start


def test_with_the_default_queue_an_overloaded_server_answers_early_503s(
    start_server: Any, pyfunc_model: Path
) -> None:
    # the default queue (1,024) holds far more than one second of 0.2 s predictions
    server = start_server(pyfunc_model, "--trust", "--timeout", "1")
    assert _slow(server, 0.2)[0].status_code == 200  # one measured prediction
    with concurrent.futures.ThreadPoolExecutor(30) as pool:
        results = list(pool.map(lambda _: _slow(server, 0.2), range(30)))
    statuses = [r.status_code for r, _ in results]
    refused = [(r, seconds) for r, seconds in results if r.status_code == 503]
    # about five fit in the one-second timeout; the others are told at once to come back
    assert len(refused) >= 15, statuses
    assert statuses.count(504) <= 5, statuses
    assert 200 in statuses, statuses
    for response, seconds in refused:
        assert response.headers["Retry-After"].isdigit()
        assert seconds < 0.9  # answered before the timeout, not at it
    time.sleep(1.5)
    assert _slow(server, 0.0)[0].status_code == 200
