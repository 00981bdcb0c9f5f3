"""Metric values match scikit-learn's own functions; data streams; runs get the artifacts."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from evaluation_cases import Case, register
from sklearn import metrics as skm

import modelpack
from modelpack.evaluation import evaluate
from modelpack.tracking import Client


def test_multiclass_metrics_match_sklearn(tracking_uri: str, iris: Case) -> None:
    y, pred, proba = (
        iris.test["y"],
        iris.good.predict(iris.features),
        iris.good.predict_proba(iris.features),
    )
    result = evaluate(iris.good, iris.test, targets="y")
    m = result.metrics
    assert m["example_count"] == len(y)
    assert m["accuracy_score"] == pytest.approx(skm.accuracy_score(y, pred))
    for name, fn in (
        ("precision", skm.precision_score),
        ("recall", skm.recall_score),
        ("f1", skm.f1_score),
    ):
        assert m[f"{name}_score"] == pytest.approx(fn(y, pred, average="weighted", zero_division=0))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    assert m["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, proba, multi_class="ovr", average="weighted")
    )
    assert result.confusion_matrix is not None
    assert result.confusion_matrix["matrix"] == skm.confusion_matrix(y, pred).tolist()
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, zero_division=0)
    assert [row["label"] for row in result.per_class] == [0, 1, 2]
    assert [row["support"] for row in result.per_class] == s.tolist()
    assert np.allclose([row["f1"] for row in result.per_class], f)
    assert np.allclose([row["precision"] for row in result.per_class], p)


@pytest.mark.parametrize("average", ["macro", "micro"])
def test_average_from_config(tracking_uri: str, iris: Case, average: str) -> None:
    pred = iris.good.predict(iris.features)
    result = evaluate(iris.good, iris.test, targets="y", evaluator_config={"average": average})
    assert result.metrics["f1_score"] == pytest.approx(
        skm.f1_score(iris.test["y"], pred, average=average)
    )
    assert result.metrics["recall_score"] == pytest.approx(
        skm.recall_score(iris.test["y"], pred, average=average)
    )


@pytest.mark.parametrize("pos_label", [None, 0])
def test_binary_metrics_match_sklearn(
    tracking_uri: str, binary: Case, pos_label: int | None
) -> None:
    y, x = binary.test["y"], binary.features
    pred, score = binary.good.predict(x), binary.good.predict_proba(x)
    pos = 1 if pos_label is None else pos_label
    config = {} if pos_label is None else {"pos_label": pos_label}
    m = evaluate(binary.good, binary.test, targets="y", evaluator_config=config).metrics
    assert m["precision_score"] == pytest.approx(skm.precision_score(y, pred, pos_label=pos))
    assert m["recall_score"] == pytest.approx(skm.recall_score(y, pred, pos_label=pos))
    assert m["f1_score"] == pytest.approx(skm.f1_score(y, pred, pos_label=pos))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y == pos, score[:, pos]))
    assert m["precision_recall_auc"] == pytest.approx(
        skm.average_precision_score(y == pos, score[:, pos])
    )
    tn, fp, fn, tp = skm.confusion_matrix(y == pos, pred == pos).ravel()
    assert (
        m["true_negatives"],
        m["false_positives"],
        m["false_negatives"],
        m["true_positives"],
    ) == (tn, fp, fn, tp)


def test_regressor_metrics_match_sklearn(tracking_uri: str, diabetes: Case) -> None:
    y, pred = diabetes.test["y"], diabetes.good.predict(diabetes.features)
    m = evaluate(diabetes.good, diabetes.test, targets="y", model_type="regressor").metrics
    assert m["mean_absolute_error"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert m["mean_squared_error"] == pytest.approx(skm.mean_squared_error(y, pred))
    assert m["root_mean_squared_error"] == pytest.approx(math.sqrt(skm.mean_squared_error(y, pred)))
    assert m["r2_score"] == pytest.approx(skm.r2_score(y, pred))
    assert m["max_error"] == pytest.approx(skm.max_error(y, pred))
    assert m["mean_absolute_percentage_error"] == pytest.approx(
        skm.mean_absolute_percentage_error(y, pred)
    )


def test_bootstrap_at_unit_weights_is_the_metric(binary: Case, diabetes: Case) -> None:
    """The resampling formulas agree with the headline values when every row counts once."""
    from modelpack.evaluation.metrics import ClassifierStats, RegressorStats

    x, y = binary.features, binary.test["y"].to_numpy()
    stats = ClassifierStats(
        y, binary.good.predict(x), binary.good.predict_proba(x), binary.good.classes_, {}
    )
    plain, weighted = stats.values(), stats.values(np.ones(len(y)))
    assert plain.keys() == weighted.keys()
    assert all(plain[k] == pytest.approx(weighted[k]) for k in plain)
    reg = RegressorStats(diabetes.test["y"].to_numpy(), diabetes.good.predict(diabetes.features))
    plain, weighted = reg.values(), reg.values(np.ones(len(diabetes.test)))
    assert all(plain[k] == pytest.approx(weighted[k]) for k in weighted)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_files_stream_in_batches_with_the_same_result(
    tracking_uri: str, iris: Case, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"test{suffix}"
    if suffix == ".csv":
        iris.test.to_csv(path, index=False)
    else:
        iris.test.to_parquet(path, index=False)
    in_memory = evaluate(iris.good, iris.test, targets="y")
    streamed = evaluate(iris.good, path, targets="y", evaluator_config={"batch_rows": 7})
    assert streamed.metrics == pytest.approx(in_memory.metrics)
    assert streamed.rows == in_memory.rows == len(iris.test)
    assert streamed.data_digest == in_memory.data_digest


def test_array_and_callable_models(tracking_uri: str, diabetes: Case) -> None:
    values = diabetes.test.to_numpy()
    target_index = diabetes.test.columns.get_loc("y")
    model, names = diabetes.good, list(diabetes.features.columns)

    def predict(frame: pd.DataFrame) -> np.ndarray:  # gets the array's numbered columns
        return model.predict(frame.set_axis(names, axis=1))

    result = evaluate(predict, values, targets=target_index, model_type="regressor")
    assert result.metrics["r2_score"] == pytest.approx(
        skm.r2_score(diabetes.test["y"], model.predict(diabetes.features))
    )


def test_registered_uri_run_artifacts_and_tags(tracking_uri: str, binary: Case) -> None:
    version = register(binary.good, "bin", binary.features)
    result = evaluate(f"models:/bin/{version}", binary.test, targets="y")
    client = Client()
    run = client.get_run(result.run_id or "")
    assert run.info.status == "FINISHED"
    assert run.data.metrics["accuracy_score"] == pytest.approx(result.metrics["accuracy_score"])
    assert run.data.tags["modelpack.evaluation.rows"] == str(len(binary.test))
    assert run.data.tags["modelpack.evaluation.data_digest"] == result.data_digest
    files = set(client.list_artifacts(run.info.run_id))
    expected = {
        f"evaluation/{n}"
        for n in ("metrics.json", "confusion_matrix.svg", "roc_curve.svg", "pr_curve.svg")
    }
    assert expected <= files
    root = client.download_artifacts(run.info.run_id, "evaluation")
    for name in ("confusion_matrix.svg", "roc_curve.svg", "pr_curve.svg"):
        assert ET.parse(root / name).getroot().tag.endswith("svg")
    saved = json.loads((root / "metrics.json").read_text())
    assert saved["metrics"]["f1_score"] == pytest.approx(result.metrics["f1_score"])
    tags = client.get_model_version("bin", version).tags
    assert tags["modelpack.evaluation.passed"] == "true"
    assert json.loads(tags["modelpack.evaluation.data"]) == {
        "digest": result.data_digest,
        "rows": len(binary.test),
    }


def test_regressor_residuals_and_active_run(tracking_uri: str, diabetes: Case) -> None:
    with modelpack.start_run() as run:
        result = evaluate(diabetes.good, diabetes.test, targets="y", model_type="regressor")
        assert modelpack.active_run() is run  # logged into the active run, left open
    assert result.run_id == run.info.run_id
    assert "evaluation/residuals.svg" in Client().list_artifacts(run.info.run_id)


def test_close_models_on_few_rows_are_visibly_noise(tracking_uri: str, binary: Case) -> None:
    """A small difference on 200 rows has an interval across 0; the seed fixes the interval."""
    x, y = binary.features, binary.test["y"]
    flipped = binary.good.predict(x).copy()
    flipped[0] = 1 - flipped[0]  # one row in 200: "better or worse by 0.005"

    def nearly(frame: pd.DataFrame) -> np.ndarray:
        out = binary.good.predict(frame)
        return (
            np.where(frame.index == frame.index[0], flipped[0], out)
            if len(frame) == len(y)
            else out
        )

    first = evaluate(binary.good, binary.test, targets="y", baseline_model=nearly)
    again = evaluate(binary.good, binary.test, targets="y", baseline_model=nearly)
    accuracy = next(d for d in first.deltas if d.metric == "accuracy_score")
    assert abs(accuracy.delta) == pytest.approx(1 / len(y))
    assert accuracy.ci_low is not None and accuracy.ci_low <= 0 <= (accuracy.ci_high or 0)
    assert accuracy.significant is False
    assert [d.to_dict() for d in first.deltas] == [d.to_dict() for d in again.deltas]
    clear = evaluate(binary.good, binary.test, targets="y", baseline_model=binary.weak)
    assert next(d for d in clear.deltas if d.metric == "roc_auc").significant is True
