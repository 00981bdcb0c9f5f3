"""A corpus of malformed requests against every route of a real ``modelpack server``:
no 5xx, always MLflow's JSON error body, never a value from the request echoed back,
the process stays up and what was stored before is unchanged."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modelpack.server.routes import ENDPOINTS
from modelpack.tracking import Client
from tests.server.tracking_server import RunningServer

CANARY = "Zq9canaryVALUE"
#: values that are the wrong type, size or shape for (nearly) any field
BAD_VALUES: list[Any] = [
    None, True, 1, -1, 1.5, 10**30, -(10**30), 2**63, "", CANARY, "NaN", "1e999",
    [], [CANARY], {}, {"k": CANARY}, [[[[CANARY]]]], "x" * 300_000 + CANARY,
]  # fmt: skip
RAW_BODIES: list[bytes] = [
    b"{", b"[]", b"null", b"1", b'"' + CANARY.encode() + b'"', b"\xff\xfe\x00" + CANARY.encode(),
    b"[" * 100_000, b'{"a":' * 50_000, b'{"run_id": "' + CANARY.encode() + b'"',
    b"{}" * 1000, b'{"key": NaN, "value": Infinity}', b"\x00" * 64,
]  # fmt: skip
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


@pytest.fixture(scope="module")
def seeded(tracking_server: RunningServer) -> dict[str, str]:
    """An experiment and a run with a param, a tag and a metric, logged before the corpus."""
    client = Client(tracking_server.store_uri)
    experiment_id = client.create_experiment("seeded")
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "p", "1")
    client.set_tag(run_id, "t", "v")
    client.log_metric(run_id, "m", 2.0, 7, 3)
    return {"experiment_id": experiment_id, "run_id": run_id}


def _valid_body(path: str, ids: dict[str, str]) -> dict[str, Any]:
    run = {"run_id": ids["run_id"]}
    bodies: dict[str, dict[str, Any]] = {
        "/experiments/create": {"name": "new", "tags": [{"key": "a", "value": "b"}]},
        "/experiments/get": {"experiment_id": ids["experiment_id"]},
        "/experiments/get-by-name": {"experiment_name": "seeded"},
        "/experiments/search": {"max_results": 10},
        "/runs/create": {"experiment_id": ids["experiment_id"], "tags": []},
        "/runs/get": run,
        "/runs/update": {**run, "status": "RUNNING"},
        "/runs/log-metric": {**run, "key": "m2", "value": 1.0, "timestamp": 1, "step": 1},
        "/runs/log-parameter": {**run, "key": "p2", "value": "v"},
        "/runs/set-tag": {**run, "key": "t2", "value": "v"},
        "/runs/log-batch": {**run, "metrics": [{"key": "m3", "value": 1, "timestamp": 1}]},
        "/runs/search": {"experiment_ids": [ids["experiment_id"]], "filter": "", "order_by": []},
        "/metrics/get-history": {**run, "metric_key": "m"},
    }
    return bodies[path.removeprefix("/api/2.0/mlflow")]


def _mutations(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield {}
    for key in body:
        yield {k: v for k, v in body.items() if k != key}
        for bad in BAD_VALUES:
            yield {**body, key: bad}
            if isinstance(body[key], list) and body[key] and isinstance(body[key][0], dict):
                for inner in body[key][0]:
                    yield {**body, key: [{**body[key][0], inner: bad}]}
    yield {**body, "run_id": "f" * 32, "experiment_id": "99999999999999999999999"}
    yield {**body, "experiment_id": "-1", "page_token": "zzz", "max_results": 0}


def _query_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    # a URL has no room for the 300 kB value; its tail (the canary) still goes
    return text if len(text) < 8000 else text[:4000] + CANARY


def _check(answer: httpx.Response, what: str) -> None:
    assert answer.status_code < 500, f"{what}: {answer.status_code}"
    if answer.status_code >= 400:
        # a 2xx may rightly hold what was stored (an experiment named like the canary)
        assert CANARY not in answer.text, f"{what}: the request was echoed"
        body = answer.json()
        assert set(body) == {"error_code", "message"}, what
        assert len(body["message"]) < 2000, what


def test_malformed_bodies_get_4xx_without_echo(
    tracking_server: RunningServer, seeded: dict[str, str]
) -> None:
    sent = 0
    with httpx.Client(timeout=60) as http:
        for endpoint in ENDPOINTS:
            url = tracking_server.url + endpoint.path
            for body in _mutations(_valid_body(endpoint.path, seeded)):
                if "GET" in endpoint.methods:
                    params = {k: _query_value(v) for k, v in body.items()}
                    _check(http.get(url, params=params), f"GET {endpoint.path}")
                else:
                    _check(http.post(url, json=body), f"POST {endpoint.path}")
                sent += 1
            for raw in RAW_BODIES:
                answer = http.post(url, content=raw, headers={"content-type": "application/json"})
                _check(answer, f"POST {endpoint.path} raw")
                sent += 1
            for method in METHODS:
                if method not in endpoint.methods:
                    _check(http.request(method, url, content=b"{}"), f"{method} {endpoint.path}")
                    sent += 1
    assert sent > 800


def test_oversized_and_repeated_inputs(
    tracking_server: RunningServer, seeded: dict[str, str]
) -> None:
    url = tracking_server.api("/runs/log-batch")
    big = {"run_id": seeded["run_id"], "tags": [{"key": "k", "value": CANARY * 1_000_000}]}
    answer = httpx.post(url, json=big, timeout=60)
    _check(answer, "oversized")
    assert answer.status_code == 400 and "at most" in answer.json()["message"]

    def chunks() -> Iterator[bytes]:
        # no content-length: the limit must hold for a streamed body too
        yield b'{"run_id": "'
        for _ in range(20):
            yield b"x" * 1_000_000
        yield b'"}'

    streamed = httpx.post(url, content=chunks(), timeout=60)
    assert streamed.status_code == 400
    history = tracking_server.api("/metrics/get-history")
    repeated = httpx.get(
        history, params=[("run_id", "a"), ("run_id", "b"), ("metric_key", "m")], timeout=30
    )
    _check(repeated, "repeated query keys")


def test_server_survives_and_stored_data_is_intact(
    tracking_server: RunningServer, seeded: dict[str, str]
) -> None:
    # runs after the corpus above (module order); the seeded run must read as logged
    assert httpx.get(f"{tracking_server.url}/health", timeout=30).status_code == 200
    client = Client(tracking_server.store_uri)
    run = client.get_run(seeded["run_id"])
    assert run.data.params["p"] == "1"
    assert run.data.tags["t"] == "v"
    assert [(m.step, m.value) for m in client.get_metric_history(seeded["run_id"], "m")][0] == (
        3,
        2.0,
    )
    assert not [
        e
        for e in itertools.chain([client.get_experiment(seeded["experiment_id"])])
        if e.name != "seeded"
    ]
