"""A corpus of malformed requests against every route of a real ``modelpack server``:
no 5xx, always MLflow's JSON error body, never a value from the request echoed back,
the process stays up and what was stored before is unchanged."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelpack.server.app import ALL_ENDPOINTS
from modelpack.tracking import Client
from modelpack.tracking.stores.sql.logged_models import create_logged_model, get_logged_model
from modelpack.tracking.stores.sql.resolve import resolve_models_uri
from tests.server.tracking_server import RunningServer, log_model_run

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
def seeded(
    tracking_server: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """An experiment and a run with a param, a tag and a metric, a registered model with a
    version, a logged model, and victims for the destructive routes — before the corpus."""
    client = Client(tracking_server.store_uri)
    experiment_id = client.create_experiment("seeded")
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "p", "1")
    client.set_tag(run_id, "t", "v")
    client.log_metric(run_id, "m", 2.0, 7, 3)
    tmp = tmp_path_factory.mktemp("m")
    model_run = log_model_run(tracking_server.store_uri, "seeded-models", tmp)
    for name in ("seeded-model", "victim"):
        client.create_registered_model(name)
        client.create_model_version(name, tmp / "model-seeded-models", model_run)
    victim_experiment = client.create_experiment("victim")
    logged = create_logged_model(client.store, experiment_id, "model", source_run_id=run_id)
    return {
        "experiment_id": experiment_id,
        "run_id": run_id,
        "model_run": model_run,
        "victim_experiment": victim_experiment,
        "victim_run": client.create_run(victim_experiment).info.run_id,
        "model_id": logged.model_id,
        "victim_model": create_logged_model(client.store, experiment_id, "victim").model_id,
    }


def _valid_body(method: str, path: str, ids: dict[str, str]) -> dict[str, Any]:
    run = {"run_id": ids["run_id"]}
    model, victim = {"name": "seeded-model"}, {"name": "victim"}
    version = {**model, "version": "1"}
    tags = [{"key": "a", "value": "b"}]
    bodies: dict[str, dict[str, Any]] = {
        "/experiments/create": {"name": "new", "tags": [{"key": "a", "value": "b"}]},
        "/experiments/get": {"experiment_id": ids["experiment_id"]},
        "/experiments/get-by-name": {"experiment_name": "seeded"},
        "/experiments/search": {"max_results": 10, "order_by": ["name DESC"], "view_type": "ALL"},
        "/experiments/set-experiment-tag": {
            "experiment_id": ids["experiment_id"],
            "key": "t4",
            "value": "v",
        },
        "/runs/create": {"experiment_id": ids["experiment_id"], "tags": []},
        "/runs/get": run,
        "/runs/update": {**run, "status": "RUNNING"},
        "/runs/log-metric": {**run, "key": "m2", "value": 1.0, "timestamp": 1, "step": 1},
        "/runs/log-parameter": {**run, "key": "p2", "value": "v"},
        "/runs/set-tag": {**run, "key": "t2", "value": "v"},
        "/runs/delete-tag": {**run, "key": "t2"},
        "/runs/log-batch": {**run, "metrics": [{"key": "m3", "value": 1, "timestamp": 1}]},
        "/runs/search": {"experiment_ids": [ids["experiment_id"]], "filter": "", "order_by": []},
        "/metrics/get-history": {**run, "metric_key": "m"},
        # the destructive routes act on victims, so the seeded data stays checkable
        "/runs/delete": {"run_id": ids["victim_run"]},
        "/runs/restore": {"run_id": ids["victim_run"]},
        "/experiments/delete": {"experiment_id": ids["victim_experiment"]},
        "/experiments/restore": {"experiment_id": ids["victim_experiment"]},
        "/experiments/update": {"experiment_id": ids["victim_experiment"], "new_name": "v2"},
        "/registered-models/create": {"name": "made", "tags": tags, "description": "d"},
        "/registered-models/get": model,
        "/registered-models/rename": {**victim, "new_name": "victim2"},
        "/registered-models/update": {**model, "description": "d"},
        "/registered-models/delete": victim,
        "/registered-models/search": {"filter": "name = 'seeded-model'", "max_results": 5},
        "/registered-models/get-latest-versions": {**model, "stages": ["None"]},
        "/registered-models/set-tag": {**model, "key": "k", "value": "v"},
        "/registered-models/delete-tag": {**model, "key": "k"},
        "/registered-models/alias": {**model, "alias": "champion", "version": "1"},
        "/model-versions/create": {
            **model,
            "source": f"runs:/{ids['model_run']}/model",
            "tags": tags,
        },
        "/model-versions/get": version,
        "/model-versions/update": {**version, "description": "d"},
        "/model-versions/delete": {**victim, "version": "1"},
        "/model-versions/search": {"filter": "name = 'seeded-model'"},
        "/model-versions/transition-stage": {**version, "stage": "Staging"},
        "/model-versions/get-download-uri": version,
        "/model-versions/set-tag": {**version, "key": "k", "value": "v"},
        "/model-versions/delete-tag": {**version, "key": "k"},
        "/logged-models": {"experiment_id": ids["experiment_id"], "name": "m", "params": tags},
        "/logged-models/search": {"experiment_ids": [ids["experiment_id"]], "filter": ""},
        "/logged-models/{model_id}": {"status": "LOGGED_MODEL_READY"},
        "/logged-models/{model_id}/tags": {"tags": tags},
        "/logged-models/{model_id}/tags/{tag_key}": {},
        "/logged-models/{model_id}/params": {"params": tags},
        "/runs/outputs": {**run, "models": [{"model_id": ids["model_id"], "step": 0}]},
        "/artifacts/list": {**run, "path": "x"},
    }
    body = bodies[path.removeprefix("/api/2.0/mlflow")]
    if path.endswith("/alias") and method != "POST":
        body = {**model, "alias": "champion"}
    return body


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
        for endpoint in ALL_ENDPOINTS:
            method = endpoint.methods[-1]
            # DELETE logged-models/{id} needs no body: any mutation deletes, so a victim
            victim = method == "DELETE" and endpoint.path.endswith("{model_id}")
            path = endpoint.path.replace(
                "{model_id}", seeded["victim_model" if victim else "model_id"]
            )
            url = tracking_server.url + path.replace("{tag_key}", "a")
            for body in _mutations(_valid_body(method, endpoint.path, seeded)):
                if method == "GET":
                    params = {k: _query_value(v) for k, v in body.items()}
                    _check(http.get(url, params=params), f"GET {endpoint.path}")
                else:
                    _check(http.request(method, url, json=body), f"{method} {endpoint.path}")
                sent += 1
            for raw in RAW_BODIES:
                answer = http.request(
                    method, url, content=raw, headers={"content-type": "application/json"}
                )
                _check(answer, f"{method} {endpoint.path} raw")
                sent += 1
            answered = {m for e in ALL_ENDPOINTS if e.path == endpoint.path for m in e.methods}
            for method in METHODS:
                if method not in answered:  # a method no route on this path takes: 405
                    _check(http.request(method, url, content=b"{}"), f"{method} {endpoint.path}")
                    sent += 1
    assert sent > 3000


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


PROXY_PATHS = [
    CANARY, f"1/{CANARY}/artifacts/x", f"../{CANARY}", f"%2e%2e/{CANARY}", f"/{CANARY}",
    f"{CANARY}\\x", f"x%00{CANARY}", "x" * 5000 + CANARY, f"models/blobs/{CANARY}",
    f"models/blobs/{'0' * 64}/{CANARY}", f"0/{'f' * 32}/artifacts/{CANARY}",
    f"0/models/m-{'0' * 32}/artifacts/{CANARY}", f".staging/{CANARY}", f"1/{CANARY}",
    "%ff%fe" + CANARY, "%c0%ae%c0%ae/" + CANARY,
]  # fmt: skip


def test_artifact_proxy_corpus(tracking_server: RunningServer, seeded: dict[str, str]) -> None:
    base = f"{tracking_server.url}/api/2.0/mlflow-artifacts/artifacts"
    sent = 0
    with httpx.Client(timeout=60) as http:
        for path in PROXY_PATHS:
            for method in ("GET", "PUT", "DELETE", "POST", "PATCH"):
                _check(http.request(method, f"{base}/{path}", content=b"x"), f"{method} proxy")
                sent += 1
            head = http.head(f"{base}/{path}")  # no body to read: the status says it all
            assert 400 <= head.status_code < 500, head.status_code
            _check(http.get(base, params={"path": path}), "proxy listing")
            sent += 1
        run_dir = f"{base}/{seeded['experiment_id']}/{seeded['run_id']}/artifacts"
        for raw in RAW_BODIES:
            _check(http.put(f"{run_dir}/raw.bin", content=raw), "PUT raw bytes")
            sent += 1
        for value in BAD_VALUES:
            params = {"path": _query_value(value)}
            _check(http.get(base, params=params), "listing with a bad value")
            _check(http.get(f"{tracking_server.url}/api/2.0/mlflow/artifacts/list",
                            params={"run_id": _query_value(value)}), "artifacts/list")  # fmt: skip
            sent += 2
    assert sent >= 120


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
    version = client.get_model_version("seeded-model", 1)
    assert version.run_id == seeded["model_run"] and Path(version.storage_location).is_dir()
    verified = resolve_models_uri("models:/seeded-model/1", client.store)  # digest checked
    assert verified[1] == 1
    assert (
        get_logged_model(client.store, seeded["model_id"]).experiment_id == seeded["experiment_id"]
    )
    assert not [
        e
        for e in itertools.chain([client.get_experiment(seeded["experiment_id"])])
        if e.name != "seeded"
    ]
