"""MLflow 3 logged models over REST on a real ``modelpack server``: what
``mlflow.sklearn.log_model(name=...)`` creates, tags, finalizes and searches."""

from __future__ import annotations

from typing import Any

import httpx

from modelpack.tracking import Client
from modelpack.tracking.stores.sql.logged_models import get_logged_model, logged_model_key
from tests.server.tracking_server import RunningServer


def _call(
    server: RunningServer, method: str, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    if method == "GET":
        return httpx.get(server.api(path), params=body, timeout=30)
    return httpx.request(method, server.api(path), json=body or {}, timeout=30)


def test_logged_model_lifecycle(tracking_server: RunningServer) -> None:
    s = tracking_server
    client = Client(s.store_uri)
    experiment_id = client.create_experiment("logged")
    run_id = client.create_run(experiment_id).info.run_id
    made = _call(s, "POST", "/logged-models", {
        "experiment_id": experiment_id, "name": "model", "model_type": "sklearn",
        "source_run_id": run_id, "params": [{"key": "C", "value": "1"}],
        "tags": [{"key": "a", "value": "b"}],
    })  # fmt: skip
    assert made.status_code == 200, made.text
    info = made.json()["model"]["info"]
    model_id = info["model_id"]
    assert info["status"] == "LOGGED_MODEL_PENDING" and info["source_run_id"] == run_id
    assert info["artifact_uri"] == f"mlflow-artifacts:/{experiment_id}/models/{model_id}/artifacts"
    assert made.json()["model"]["data"]["params"] == [{"key": "C", "value": "1"}]

    done = _call(
        s,
        "PATCH",
        f"/logged-models/{model_id}",
        {"model_id": model_id, "status": "LOGGED_MODEL_READY"},
    )
    assert done.json()["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    assert _call(s, "PATCH", f"/logged-models/{model_id}/tags",
                 {"tags": [{"key": "k", "value": "v"}]}).status_code == 200  # fmt: skip
    assert _call(s, "DELETE", f"/logged-models/{model_id}/tags/a").status_code == 200
    assert _call(s, "POST", f"/logged-models/{model_id}/params",
                 {"params": [{"key": "depth", "value": "3"}]}).status_code == 200  # fmt: skip
    stored = get_logged_model(client.store, model_id)
    assert (stored.status, stored.tags, stored.params) == (
        "READY",
        {"k": "v"},
        {"C": "1", "depth": "3"},
    )
    assert logged_model_key(experiment_id, model_id).split("/")[-2] == model_id

    found = _call(s, "POST", "/logged-models/search",
                  {"experiment_ids": [experiment_id], "filter": "name = 'model'"}).json()  # fmt: skip
    assert [m["info"]["model_id"] for m in found["models"]] == [model_id]
    none = _call(s, "POST", "/logged-models/search",
                 {"experiment_ids": [experiment_id], "filter": "name = 'other'"}).json()  # fmt: skip
    assert none["models"] == []
    outputs = _call(
        s,
        "POST",
        "/runs/outputs",
        {"run_id": run_id, "models": [{"model_id": model_id, "step": 0}]},
    )
    assert outputs.status_code == 200

    assert _call(s, "DELETE", f"/logged-models/{model_id}").status_code == 200
    assert _call(s, "GET", f"/logged-models/{model_id}").status_code == 404


def test_logged_model_errors(tracking_server: RunningServer) -> None:
    s = tracking_server
    experiment_id = Client(s.store_uri).create_experiment("logged-errors")
    model_id = _call(s, "POST", "/logged-models", {"experiment_id": experiment_id}).json()["model"][
        "info"
    ]["model_id"]
    answers = {
        "unknown id": _call(s, "GET", f"/logged-models/m-{'0' * 32}"),
        "malformed id": _call(s, "GET", "/logged-models/Zq9canaryVALUE"),
        "bad status": _call(s, "PATCH", f"/logged-models/{model_id}", {"status": "Zq9canaryVALUE"}),
        "no experiment": _call(s, "POST", "/logged-models", {"experiment_id": "987654"}),
        "bad filter": _call(
            s,
            "POST",
            "/logged-models/search",
            {"experiment_ids": [experiment_id], "filter": "Zq9canaryVALUE > 1"},
        ),  # fmt: skip
        "no experiments": _call(s, "POST", "/logged-models/search", {}),
    }
    assert {k: a.status_code for k, a in answers.items()} == {
        "unknown id": 404, "malformed id": 400, "bad status": 400, "no experiment": 404,
        "bad filter": 400, "no experiments": 400,
    }  # fmt: skip
    assert all("Zq9canary" not in a.text for a in answers.values())
    assert get_logged_model(Client(s.store_uri).store, model_id).status == "PENDING"
