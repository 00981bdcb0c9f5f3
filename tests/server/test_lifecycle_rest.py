"""Deleting, restoring and renaming experiments and runs over REST on a real
``modelpack server``, checked through modelpack's own Client."""

from __future__ import annotations

from typing import Any

import httpx

from modelpack.tracking import Client
from tests.server.tracking_server import RunningServer


def _post(server: RunningServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.api(path), json=body, timeout=30)


def test_delete_and_restore_a_run(tracking_server: RunningServer) -> None:
    client = Client(tracking_server.store_uri)
    experiment_id = client.create_experiment("lifecycle-runs")
    keep, gone = (client.create_run(experiment_id).info.run_id for _ in range(2))
    assert _post(tracking_server, "/runs/delete", {"run_id": gone}).status_code == 200
    assert [r.info.run_id for r in client.search_runs([experiment_id])] == [keep]
    assert client.get_run(gone).info.lifecycle_stage == "deleted"

    def view(kind: str) -> list[str]:
        body = {"experiment_ids": [experiment_id], "run_view_type": kind}
        found = _post(tracking_server, "/runs/search", body).json().get("runs", [])
        return sorted(run["info"]["run_id"] for run in found)

    assert (view("ACTIVE_ONLY"), view("DELETED_ONLY"), view("ALL")) == (
        [keep], [gone], sorted([keep, gone]),
    )  # fmt: skip
    assert _post(tracking_server, "/runs/restore", {"run_id": gone}).status_code == 200
    assert {r.info.run_id for r in client.search_runs([experiment_id])} == {keep, gone}
    missing = _post(tracking_server, "/runs/delete", {"run_id": "0" * 32})
    assert (missing.status_code, missing.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_delete_restore_and_rename_an_experiment(tracking_server: RunningServer) -> None:
    client = Client(tracking_server.store_uri)
    experiment_id = client.create_experiment("lifecycle-exp")
    run_id = client.create_run(experiment_id).info.run_id
    assert (
        _post(tracking_server, "/experiments/delete", {"experiment_id": experiment_id}).status_code
        == 200
    )
    assert "lifecycle-exp" not in [e.name for e in client.search_experiments()]
    assert client.search_runs([experiment_id]) == []
    assert (
        _post(tracking_server, "/experiments/restore", {"experiment_id": experiment_id}).status_code
        == 200
    )
    assert [r.info.run_id for r in client.search_runs([experiment_id])] == [run_id]

    renamed = _post(
        tracking_server,
        "/experiments/update",
        {"experiment_id": experiment_id, "new_name": "renamed-exp"},
    )
    assert renamed.status_code == 200
    assert client.get_experiment(experiment_id).name == "renamed-exp"
    client.create_experiment("taken-exp")
    taken = _post(
        tracking_server,
        "/experiments/update",
        {"experiment_id": experiment_id, "new_name": "taken-exp"},
    )
    assert (taken.status_code, taken.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    bad = _post(tracking_server, "/experiments/delete", {"experiment_id": "Zq9canaryVALUE"})
    assert bad.status_code == 400 and "Zq9canary" not in bad.text
    assert (
        _post(tracking_server, "/experiments/delete", {"experiment_id": "987654"}).status_code
        == 404
    )


def test_update_renames_a_run(tracking_server: RunningServer) -> None:
    client = Client(tracking_server.store_uri)
    run_id = client.create_run(client.create_experiment("rename-run"), "before").info.run_id
    answer = _post(tracking_server, "/runs/update", {"run_id": run_id, "run_name": "after"})
    assert answer.status_code == 200 and answer.json()["run_info"]["run_name"] == "after"
    run = client.get_run(run_id)
    assert run.info.run_name == "after" and run.data.tags["mlflow.runName"] == "after"
