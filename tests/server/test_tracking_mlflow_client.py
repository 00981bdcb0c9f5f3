"""The unmodified MLflow client against ``modelpack server``: one subprocess logs through
MLflow's fluent API and MlflowClient, and modelpack's own Client reads the same store."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from modelpack.tracking import Client
from tests.mlflow_venv import mlflow_python
from tests.server.tracking_server import RunningServer

SCRIPT = r"""
import json, sys
import mlflow
from mlflow import MlflowClient

mlflow.set_tracking_uri(sys.argv[1])
experiment = mlflow.set_experiment("conformance")
with mlflow.start_run(run_name="first") as run:
    mlflow.log_param("alpha", 0.5)
    for step, loss in enumerate([0.9, 0.4, 0.1]):
        mlflow.log_metric("loss", loss, step=step)
    mlflow.log_metrics({"acc": 0.75, "f1": 0.5}, step=2)
    mlflow.set_tag("team", "search")
found = mlflow.search_runs(experiment_ids=[experiment.experiment_id], filter_string="metrics.acc > 0.5")
history = MlflowClient().get_metric_history(run.info.run_id, "loss")
again = mlflow.set_experiment("conformance")
print(json.dumps({
    "experiment_id": experiment.experiment_id,
    "same_experiment": again.experiment_id == experiment.experiment_id,
    "run_id": run.info.run_id,
    "found": list(found["run_id"]),
    "found_acc": list(found["metrics.acc"]),
    "history": [[m.step, m.value] for m in history],
    "status": MlflowClient().get_run(run.info.run_id).info.status,
}))
"""


@pytest.fixture(scope="module")
def logged(tracking_server: RunningServer) -> dict[str, object]:
    """What the MLflow client reported after logging one run (run once per module)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    # fail fast instead of MLflow's minutes of retries if the server ever answers 5xx
    env |= {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}
    done = subprocess.run(
        [mlflow_python(), "-c", SCRIPT, tracking_server.url],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_mlflow_client_round_trip(
    tracking_server: RunningServer, logged: dict[str, object]
) -> None:
    assert logged["same_experiment"] is True
    assert logged["found"] == [logged["run_id"]]
    assert logged["found_acc"] == [0.75]
    assert logged["history"] == [[0, 0.9], [1, 0.4], [2, 0.1]]
    assert logged["status"] == "FINISHED"


def test_modelpack_client_reads_what_mlflow_logged(
    tracking_server: RunningServer, logged: dict[str, object]
) -> None:
    client = Client(tracking_server.store_uri)
    experiment = client.get_experiment_by_name("conformance")
    assert experiment is not None and experiment.experiment_id == logged["experiment_id"]
    run = client.get_run(str(logged["run_id"]))
    assert run.info.run_name == "first"
    assert run.info.status == "FINISHED" and run.info.end_time is not None
    assert run.data.params == {"alpha": "0.5"}
    assert run.data.metrics == {"loss": 0.1, "acc": 0.75, "f1": 0.5}
    assert run.data.tags["team"] == "search"
    assert run.data.tags["mlflow.runName"] == "first"
    history = client.get_metric_history(str(logged["run_id"]), "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.9), (1, 0.4), (2, 0.1)]
    assert [r.info.run_id for r in client.search_runs([experiment.experiment_id])] == [
        logged["run_id"]
    ]
