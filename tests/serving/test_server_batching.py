"""Adaptive batching under concurrent clients: every client gets exactly its own rows back."""

from __future__ import annotations

import concurrent.futures
import random
import re
from typing import Any

import httpx
import numpy as np
from serving_helpers import Server


def _batch_stats(server: Server) -> tuple[float, float]:
    """(model calls, rows predicted) from /metrics."""
    text = server.client.get("/metrics").text
    calls = sum(
        float(v) for v in re.findall(r"^modelpack_batch_rows_count\{[^}]*\} (\S+)", text, re.M)
    )
    rows = sum(
        float(v) for v in re.findall(r"^modelpack_batch_rows_sum\{[^}]*\} (\S+)", text, re.M)
    )
    return calls, rows


def _client_session(server: Server, seed: int, frame: Any, expected: np.ndarray) -> list[str]:
    rng = random.Random(seed)
    problems = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i in range(25):
            start = rng.randrange(0, len(frame) - 10)
            n = rng.randint(1, 6)
            rows = frame.iloc[start : start + n]
            if i % 10 == 7:  # a bad request in the middle of a batch fails alone
                bad = {"dataframe_records": [{"sepal_length": "x"}]}
                status = client.post("/invocations", json=bad).status_code
                if status != 400:
                    problems.append(f"bad request got {status}")
                continue
            kind = rng.choice(["split", "records", "inputs"])
            if kind == "split":
                body = {
                    "dataframe_split": {"columns": list(rows.columns), "data": rows.values.tolist()}
                }
            elif kind == "records":
                body = {"dataframe_records": rows.to_dict(orient="records")}
            else:
                body = {"inputs": rows.to_dict(orient="list")}
            response = client.post("/invocations", json=body)
            want = expected[start : start + n].tolist()
            if response.status_code != 200 or response.json()["predictions"] != want:
                problems.append(
                    f"rows {start}:{start + n}: {response.status_code} {response.text[:200]}"
                )
    return problems


def test_concurrent_clients_each_get_their_own_rows(
    iris_server: Server, iris_frame: Any, iris_estimator: Any
) -> None:
    frame = iris_frame[0]
    expected = iris_estimator.predict(frame)
    calls_before, rows_before = _batch_stats(iris_server)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(
            pool.map(lambda s: _client_session(iris_server, s, frame, expected), range(16))
        )
    problems = [p for r in results for p in r]
    assert not problems, problems[:5]
    calls, rows = _batch_stats(iris_server)
    good_requests = 16 * 22
    assert rows - rows_before >= good_requests  # every good request's rows were predicted
    assert calls - calls_before < good_requests  # ...in fewer model calls: requests were merged


def test_onnx_outputs_split_back_per_request(onnx_server: Server, iris_frame: Any) -> None:
    x = iris_frame[0].to_numpy()

    def one(i: int) -> tuple[int, Any]:
        rows = x[i : i + 1 + i % 3].tolist()
        with httpx.Client(base_url=onnx_server.url, timeout=30) as client:
            return i, client.post("/invocations", json={"inputs": rows}).json()

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(one, range(0, 148, 2)))
    with httpx.Client(base_url=onnx_server.url) as client:
        for i, answer in answers:
            n = 1 + i % 3
            alone = client.post("/invocations", json={"inputs": x[i : i + n].tolist()}).json()
            assert len(answer["predictions"]["label"]) == n
            assert answer["predictions"]["label"] == alone["predictions"]["label"]
            # float32 kernels may round differently for a batch of rows: equal to ~1e-6
            np.testing.assert_allclose(
                answer["predictions"]["probabilities"],
                alone["predictions"]["probabilities"],
                rtol=1e-5,
                atol=1e-6,
            )
