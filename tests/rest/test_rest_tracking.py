"""The fluent API and ``Client`` through ``MODELPACK_TRACKING_URI=http://...``: the same calls
as on the embedded store, answered by a real tracking server on 127.0.0.1."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import pytest

import modelpack
from modelpack.errors import InvalidInput, NotFound
from modelpack.tracking import Client
from modelpack.tracking.stores.rest.store import RestTrackingStore


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_an_http_tracking_uri_picks_the_rest_store(tracking_server_url: str) -> None:
    client = Client()
    assert isinstance(client.backend, RestTrackingStore)
    assert client.backend.display == tracking_server_url
    modelpack.set_tracking_uri(tracking_server_url + "/")  # accepted, not refused as before
    assert isinstance(Client().backend, RestTrackingStore)


def test_fluent_workflow_lands_on_the_server(tracking_server_url: str) -> None:
    experiment = modelpack.set_experiment(_name("fluent"))
    with modelpack.start_run(run_name="rf", tags={"team": "ml"}) as run:
        modelpack.log_param("n_estimators", 100)
        modelpack.log_params({"depth": 3, "criterion": "gini"})
        modelpack.log_metric("loss", 0.5, step=0)
        modelpack.log_metric("loss", 0.25, step=1)
        modelpack.log_metrics({"accuracy": 0.97, "odd": float("nan")}, step=1)
        modelpack.set_tag("stage", "dev")
        modelpack.set_tags({"owner": "me"})
        with modelpack.start_run(nested=True) as child:
            modelpack.log_metric("inner", 1.0)
    # a fresh client reads it back from the server: nothing stayed in this process
    client = Client(tracking_server_url)
    found = client.get_run(run.info.run_id)
    assert found.info.status == "FINISHED" and found.info.end_time
    assert found.info.experiment_id == experiment.experiment_id
    assert found.info.run_name == "rf"
    assert found.data.params == {"n_estimators": "100", "depth": "3", "criterion": "gini"}
    assert found.data.metrics["loss"] == 0.25 and found.data.metrics["accuracy"] == 0.97
    assert math.isnan(found.data.metrics["odd"])
    assert {"team": "ml", "stage": "dev", "owner": "me"}.items() <= found.data.tags.items()
    assert client.get_run(child.info.run_id).info.parent_run_id == run.info.run_id
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.25)]


def test_search_runs_and_experiments(tracking_server_url: str) -> None:
    experiment = modelpack.set_experiment(_name("search"))
    for rmse in (0.3, 0.9, 0.1):
        with modelpack.start_run():
            modelpack.log_metric("rmse", rmse)
    client = Client()
    found = client.search_runs(
        [experiment.experiment_id], "metrics.rmse < 0.5", ["metrics.rmse ASC"]
    )
    assert [r.data.metrics["rmse"] for r in found] == [0.1, 0.3]
    frame = modelpack.search_runs(order_by=["metrics.rmse DESC"])
    assert list(frame["metrics.rmse"]) == [0.9, 0.3, 0.1]
    assert experiment.name in [e.name for e in client.search_experiments()]
    assert client.get_experiment_by_name(experiment.name) == client.get_experiment(
        experiment.experiment_id
    )
    assert client.get_experiment_by_name(_name("missing")) is None


def test_log_batch_of_many_metrics_is_split_to_the_servers_limit(tracking_server_url: str) -> None:
    with modelpack.start_run() as run:
        modelpack.log_metrics({f"m{i}": float(i) for i in range(2500)}, step=2)
    metrics = Client().get_run(run.info.run_id).data.metrics
    assert len(metrics) == 2500 and metrics["m2499"] == 2499.0


def test_store_errors_are_the_typed_errors_of_the_embedded_store(tracking_server_url: str) -> None:
    client = Client()
    with pytest.raises(NotFound):
        client.get_run(uuid.uuid4().hex)
    with pytest.raises(NotFound):
        client.get_experiment("987654321")
    with modelpack.start_run() as run:
        modelpack.log_param("fixed", 1)
        with pytest.raises(InvalidInput):  # a param is immutable once logged
            client.log_param(run.info.run_id, "fixed", 2)
    # the client checks names before a request is sent
    with pytest.raises(InvalidInput):
        client.log_metric(run.info.run_id, "", 1.0)


@pytest.mark.needs("artifacts")
def test_run_artifacts_go_through_the_servers_proxy(
    tracking_server_url: str, tmp_path: Path
) -> None:
    local = tmp_path / "files"
    (local / "sub").mkdir(parents=True)
    (local / "a.txt").write_text("alpha")
    (local / "sub" / "b.bin").write_bytes(b"\x00\x01" * 3000)
    with modelpack.start_run() as run:
        modelpack.log_artifact(local / "a.txt", "single")
        modelpack.log_artifacts(local, "tree")
        modelpack.log_dict({"k": [1, 2]}, "config/params.json")
        Client().log_text(run.info.run_id, "hello", "notes.txt")
    client = Client()
    assert client.list_artifacts(run.info.run_id) == [
        "config/params.json", "notes.txt", "single/a.txt", "tree/a.txt", "tree/sub/b.bin",
    ]  # fmt: skip
    assert client.list_artifacts(run.info.run_id, "tree/sub") == ["tree/sub/b.bin"]
    tree = client.download_artifacts(run.info.run_id, "tree")
    assert (tree / "sub" / "b.bin").read_bytes() == b"\x00\x01" * 3000
    notes = client.download_artifacts(run.info.run_id, "notes.txt")
    assert notes.read_text() == "hello"
    with pytest.raises(NotFound):
        modelpack.log_artifact(tmp_path / "absent.txt")


def test_metric_points_through_a_server(tracking_server_url: str) -> None:
    modelpack.set_experiment(_name("points"))
    with modelpack.start_run() as run:
        for step in range(5):
            modelpack.log_metric("loss", 1.0 / (step + 1), step=step)
    points = Client().get_metric_points(run.info.run_id, "loss")
    assert [(v, s) for v, _, s in points] == [(1.0 / (s + 1), s) for s in range(5)]
