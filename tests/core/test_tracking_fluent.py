"""The fluent tracking API against a real SQLite store."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import modelpack
from modelpack.errors import DependencyMissing, InvalidInput, InvalidName, NotFound, UnsafePathError
from modelpack.tracking import Client, log_model_dir


@pytest.fixture
def tracking_uri(any_tracking_uri: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_tracking_uri


def test_run_records_params_metrics_tags(tracking_uri: str) -> None:
    experiment = modelpack.set_experiment("iris")
    with modelpack.start_run(run_name="rf") as run:
        modelpack.log_param("n_estimators", 100)
        modelpack.log_params({"max_depth": 3, "criterion": "gini"})
        for epoch in range(3):
            modelpack.log_metric("loss", 1.0 / (epoch + 1), step=epoch)
        modelpack.log_metrics({"accuracy": 0.9, "f1": 0.8}, step=7, timestamp=1234)
        modelpack.set_tag("team", "ml")
        modelpack.set_tags({"stage": "dev"})
        assert modelpack.active_run() is run
    assert modelpack.active_run() is None

    stored = Client().get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.info.end_time is not None
    assert stored.info.run_name == "rf"
    assert stored.info.experiment_id == experiment.experiment_id
    assert stored.data.params == {"n_estimators": "100", "max_depth": "3", "criterion": "gini"}
    assert stored.data.metrics == {"loss": pytest.approx(1 / 3), "accuracy": 0.9, "f1": 0.8}
    assert stored.data.tags == {"team": "ml", "stage": "dev"}
    history = Client().get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [0, 1, 2]
    accuracy = Client().get_metric_history(run.info.run_id, "accuracy")[0]
    assert (accuracy.step, accuracy.timestamp) == (7, 1234)


def test_nan_and_infinity_are_stored_as_such(tracking_uri: str) -> None:
    with modelpack.start_run() as run:
        modelpack.log_metric("nan", float("nan"))
        modelpack.log_metrics({"inf": math.inf, "ninf": -math.inf})
    metrics = Client().get_run(run.info.run_id).data.metrics
    assert math.isnan(metrics["nan"])
    assert metrics["inf"] == math.inf and metrics["ninf"] == -math.inf
    assert math.isnan(Client().get_metric_history(run.info.run_id, "nan")[0].value)


def test_exception_ends_run_failed_and_propagates(tracking_uri: str) -> None:
    with pytest.raises(RuntimeError, match="boom"), modelpack.start_run() as run:
        raise RuntimeError("boom")
    assert Client().get_run(run.info.run_id).info.status == "FAILED"
    assert modelpack.active_run() is None


def test_nested_runs_record_their_parent(tracking_uri: str) -> None:
    with modelpack.start_run() as parent:
        with pytest.raises(InvalidInput, match="nested=True"):
            modelpack.start_run()
        with modelpack.start_run(nested=True) as child:
            assert modelpack.active_run() is child
        assert modelpack.active_run() is parent
    stored = Client().get_run(child.info.run_id)
    assert stored.info.parent_run_id == parent.info.run_id
    assert stored.data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_end_run_and_resume(tracking_uri: str) -> None:
    run = modelpack.start_run()
    modelpack.end_run(status="KILLED")
    assert Client().get_run(run.info.run_id).info.status == "KILLED"
    modelpack.end_run()  # nothing active: no-op
    with modelpack.start_run(run_id=run.info.run_id):
        modelpack.log_metric("later", 1.0)
    resumed = Client().get_run(run.info.run_id)
    assert resumed.info.status == "FINISHED" and resumed.data.metrics == {"later": 1.0}


def test_logging_without_a_run_starts_one(tracking_uri: str) -> None:
    modelpack.log_metric("x", 1.0)
    active = modelpack.active_run()
    assert active is not None
    modelpack.end_run()
    assert Client().get_run(active.info.run_id).data.metrics == {"x": 1.0}


def test_params_are_immutable(tracking_uri: str) -> None:
    with modelpack.start_run() as run:
        modelpack.log_param("alpha", 0.1)
        modelpack.log_param("alpha", 0.1)  # same value: fine
        with pytest.raises(InvalidInput, match="immutable"):
            modelpack.log_param("alpha", 0.2)
    assert Client().get_run(run.info.run_id).data.params == {"alpha": "0.1"}


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: modelpack.log_metric("", 1.0), InvalidName),
        (lambda: modelpack.log_metric("bad\x00key", 1.0), InvalidName),
        (lambda: modelpack.log_metric("ok", "high"), InvalidInput),
        (lambda: modelpack.log_metric("ok", 1.0, step=1.5), InvalidInput),
        (lambda: modelpack.log_param("k" * 300, 1), InvalidName),
        (lambda: modelpack.log_param("long", "x" * 7000), InvalidInput),
        (lambda: modelpack.set_tag("../escape", "v"), InvalidName),
    ],
)
def test_bad_input_is_a_typed_error_and_stores_nothing(
    tracking_uri: str, call: Callable[[], None], error: type[Exception]
) -> None:
    with modelpack.start_run() as run:
        with pytest.raises(error):
            call()
    data = Client().get_run(run.info.run_id).data
    assert (data.params, data.metrics, data.tags) == ({}, {}, {})


def test_batch_is_all_or_nothing(tracking_uri: str) -> None:
    with modelpack.start_run() as run:
        with pytest.raises(InvalidInput):
            modelpack.log_metrics({"good": 1.0, "bad": "text"})
    assert Client().get_run(run.info.run_id).data.metrics == {}


def test_artifacts_files_dirs_dicts(tracking_uri: str, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "a.txt").write_text("a")
    (tmp_path / "tree" / "sub" / "b.txt").write_text("b")
    with modelpack.start_run() as run:
        modelpack.log_artifact(tmp_path / "notes.txt")
        modelpack.log_artifact(str(tmp_path / "notes.txt"), artifact_path="docs")
        modelpack.log_artifacts(tmp_path / "tree", artifact_path="tree")
        modelpack.log_dict({"a": [1, 2]}, "config.json")
        modelpack.log_dict({"a": 1}, "conf/config.yaml")
        modelpack.tracking.log_text("text", "t.txt")
        with pytest.raises(NotFound):
            modelpack.log_artifact(tmp_path / "missing.txt")
    client = Client()
    assert client.list_artifacts(run.info.run_id) == [
        "conf/config.yaml", "config.json", "docs/notes.txt", "notes.txt", "t.txt",
        "tree/a.txt", "tree/sub/b.txt",
    ]  # fmt: skip
    root = Path(client.download_artifacts(run.info.run_id, ""))
    assert json.loads((root / "config.json").read_text()) == {"a": [1, 2]}
    assert yaml.safe_load((root / "conf/config.yaml").read_text()) == {"a": 1}
    assert list((Path(client.store.staging_dir)).iterdir()) == []


@pytest.mark.parametrize(
    "path", ["../x", "a/../../x", "/etc", "%2e%2e/x", "a\\..\\x", "C:/x", "a/%2E%2E/%2e%2e"]
)
def test_artifact_paths_cannot_escape_the_run(tracking_uri: str, tmp_path: Path, path: str) -> None:
    (tmp_path / "f.txt").write_text("x")
    with modelpack.start_run() as run:
        with pytest.raises(UnsafePathError):
            modelpack.log_artifact(tmp_path / "f.txt", artifact_path=path)
        with pytest.raises(UnsafePathError):
            modelpack.log_dict({}, path + "/d.json")
    assert Client().list_artifacts(run.info.run_id) == []


def test_log_figure_without_matplotlib(tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with modelpack.start_run(), pytest.raises(DependencyMissing, match="pip install matplotlib"):
        modelpack.log_figure(object(), "plot.png")


def test_log_figure_with_matplotlib(tracking_uri: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    with modelpack.start_run() as run:
        modelpack.log_figure(figure, "plots/line.png")
    plt.close(figure)
    root = Client().download_artifacts(run.info.run_id, "plots/line.png")
    assert Path(root).read_bytes().startswith(b"\x89PNG")


def _make_runs() -> list[str]:
    ids = []
    for alpha, rmse, team in [(0.1, 0.5, "a"), (0.2, 0.3, "b"), (0.3, 0.9, "a"), (0.4, None, "a")]:
        with modelpack.start_run() as run:
            modelpack.log_param("alpha", alpha)
            if rmse is not None:
                modelpack.log_metric("rmse", rmse)
            modelpack.set_tag("team", team)
        ids.append(run.info.run_id)
    return ids


def test_search_runs_filters_and_orders(tracking_uri: str) -> None:
    modelpack.set_experiment("search")
    ids = _make_runs()
    found = modelpack.search_runs(
        filter_string="metrics.rmse < 0.8 and tags.team = 'a'", output_format="list"
    )
    assert [r.info.run_id for r in found] == [ids[0]]
    ordered = modelpack.search_runs(order_by=["metrics.rmse DESC"], output_format="list")
    assert [r.info.run_id for r in ordered] == [ids[2], ids[0], ids[1], ids[3]]
    by_param = modelpack.search_runs(
        filter_string="params.alpha != '0.1' and attributes.status = 'FINISHED'",
        order_by=["params.alpha ASC"],
        output_format="list",
    )
    assert [r.info.run_id for r in by_param] == ids[1:]
    like = modelpack.search_runs(filter_string="tags.`team` LIKE 'A%'", output_format="list")
    assert like == []
    ilike = modelpack.search_runs(filter_string="tags.team ILIKE 'A%'", output_format="list")
    assert len(ilike) == 3
    frame = modelpack.search_runs(order_by=["metrics.rmse"])
    assert list(frame["run_id"]) == [ids[1], ids[0], ids[2], ids[3]]
    assert {"metrics.rmse", "params.alpha", "tags.team"} <= set(frame.columns)


@pytest.mark.parametrize(
    "bad", ["metrics.rmse < 'x'", "params.a < '1'", "nonsense", "colour = 'red'", "tags.a = 'x"]
)
def test_search_runs_rejects_bad_filters(tracking_uri: str, bad: str) -> None:
    with pytest.raises(InvalidInput):
        modelpack.search_runs(filter_string=bad)


def test_log_model_dir_puts_model_in_run_and_registers(
    tracking_uri: str, save_fake_model: Callable[[Path], None]
) -> None:
    with modelpack.start_run() as run:
        info = log_model_dir(save_fake_model, "model", registered_model_name="fake")
    assert info.model_uri == f"runs:/{run.info.run_id}/model"
    assert (info.run_id, info.artifact_path, info.registered_model_version) == (
        run.info.run_id, "model", 1,
    )  # fmt: skip
    assert info.flavors == {"fake": {"data": "model.bin"}}
    assert info.model_uuid
    from modelpack.mlmodel import read_mlmodel
    from modelpack.uris import resolve_model_uri

    mlmodel = read_mlmodel(resolve_model_uri(info.model_uri))
    assert (mlmodel["run_id"], mlmodel["artifact_path"]) == (run.info.run_id, "model")
    registered = read_mlmodel(resolve_model_uri("models:/fake/1"))
    assert registered["run_id"] == run.info.run_id
    assert Client().get_model_version("fake", 1).run_id == run.info.run_id
    with modelpack.start_run(run_id=run.info.run_id):
        with pytest.raises(modelpack.errors.AlreadyExists):
            log_model_dir(save_fake_model, "model")


def test_log_model_dir_starts_a_run_when_none_is_active(
    tracking_uri: str, save_fake_model: Callable[[Path], None]
) -> None:
    info = log_model_dir(save_fake_model, "nested/model")
    active = modelpack.active_run()
    assert active is not None and active.info.run_id == info.run_id
    assert info.registered_model_version is None
    assert "nested/model/MLmodel" in Client().list_artifacts(info.run_id)
