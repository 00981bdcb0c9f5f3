"""Slow-to-parse bodies are parsed off the event loop: ``/ping`` keeps answering meanwhile.

Judged by the order of events, not by absolute latencies: while one ``/invocations``
request is in flight, a second client pings in a loop; on the event loop the parse would
leave one gap without answers covering most of the request's time in flight, off it the
pings keep coming. The bodies are chosen so that parsing dominates that time.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from serving_helpers import IRIS_COLUMNS, Server

PARQUET = "application/vnd.apache.parquet"


@pytest.fixture(scope="module")
def default_server(start_server: Any, iris_model: Path) -> Server:
    """Iris with the default limits (64 MB bodies): room for a slow body."""
    server: Server = start_server(iris_model)
    return server


def _ping_gaps_during(server: Server, body: bytes, content_type: str) -> tuple[float, float, int]:
    """Send ``body`` to ``/invocations`` while another client pings in a loop.

    Returns (time in flight, longest stretch of that time without a ping answered,
    pings answered while in flight)."""
    answered: list[float] = []
    stop = threading.Event()

    def ping() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            while not stop.is_set():
                assert client.get("/ping").status_code == 200
                answered.append(time.monotonic())

    pinger = threading.Thread(target=ping, daemon=True)
    pinger.start()
    while not answered:  # the pinger is connected and answered before we start
        time.sleep(0.01)
    with httpx.Client(base_url=server.url, timeout=120) as client:
        start = time.monotonic()
        response = client.post("/invocations", content=body, headers={"Content-Type": content_type})
        end = time.monotonic()
    stop.set()
    pinger.join(60)
    assert response.status_code in (200, 400), response.text
    inside = [t for t in answered if start < t < end]
    marks = [start, *inside, end]
    longest = max(b - a for a, b in zip(marks, marks[1:], strict=False))
    return end - start, longest, len(inside)


def _assert_pings_kept_answering(server: Server, body: bytes, content_type: str) -> None:
    in_flight, longest, count = _ping_gaps_during(server, body, content_type)
    # on the loop, the parse alone (most of the time in flight) is one gap without pings;
    # off the loop, gaps are a ping's round trip: a generous ratio either way
    assert count >= 3, f"{count} pings answered in {in_flight:.2f} s in flight"
    assert longest < 0.5 * in_flight, (
        f"/ping went unanswered for {longest:.2f} s of {in_flight:.2f} s in flight"
    )


def test_a_slow_parquet_body_does_not_stall_ping(default_server: Server) -> None:
    # one row a row group: ~1 s to decode on an idle machine, yet only 10 MB sent, 12,000
    # rows decoded (within every limit) and quick to predict and answer
    rows = 12_000
    frame = pd.DataFrame({name: np.random.default_rng(0).random(rows) for name in IRIS_COLUMNS})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, row_group_size=1)
    _assert_pings_kept_answering(default_server, buffer.getvalue(), PARQUET)
    # and it was scored in full
    response = default_server.client.post(
        "/invocations", content=buffer.getvalue(), headers={"Content-Type": PARQUET}
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == rows


def test_a_slow_csv_body_does_not_stall_ping(default_server: Server) -> None:
    # just under the 10,000-column cap, 400 rows: 8 MB that pandas takes about a second
    # to read; refused with a 400 by the signature only after that parse
    width = 9_999
    header = ",".join(f"c{i}" for i in range(width))
    body = (header + "\n" + (",".join(["1"] * width) + "\n") * 400).encode()
    _assert_pings_kept_answering(default_server, body, "text/csv")


def test_a_one_row_csv_is_still_scored(default_server: Server, iris_frame: Any) -> None:
    frame, _ = iris_frame
    response = default_server.client.post(
        "/invocations",
        content=frame.head(1).to_csv(index=False),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 1


def test_a_small_csv_of_a_wide_header_does_not_stall_ping(default_server: Server) -> None:
    # 10 KB, well under the 64 KB a JSON body is parsed on the loop up to, and under the
    # 10,000-column cap: pandas takes time quadratic in the number of unnamed columns
    # (about two seconds here); a 400 after that parse
    body = ("," * 9_998 + "\n").encode()
    _assert_pings_kept_answering(default_server, body, "text/csv")
