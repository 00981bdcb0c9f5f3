"""Bad evaluation input gets a clear, typed error or a documented metric value."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from evaluation_cases import Case, register

from modelpack.errors import InvalidInput, ModelpackError, SchemaError
from modelpack.evaluation import evaluate
from modelpack.tracking import Client


def test_missing_target_column(tracking_uri: str, iris: Case) -> None:
    with pytest.raises(InvalidInput, match="no target column 'label'.*sepal length"):
        evaluate(iris.good, iris.test, targets="label")


def test_nan_targets_are_counted_not_echoed(tracking_uri: str, iris: Case) -> None:
    test = iris.test.astype({"y": float})
    test.loc[[3, 7], "y"] = np.nan
    with pytest.raises(InvalidInput, match="2 missing values.*first at row 3"):
        evaluate(iris.good, test, targets="y")


def test_single_class_everywhere_needs_a_label_list(tracking_uri: str, binary: Case) -> None:
    constant = binary.test.assign(y=1)

    def always_one(frame: pd.DataFrame) -> np.ndarray:
        return np.ones(len(frame), dtype=int)

    with pytest.raises(InvalidInput, match="single class.*label_list"):
        evaluate(always_one, constant, targets="y")
    result = evaluate(always_one, constant, targets="y", evaluator_config={"label_list": [0, 1]})
    assert result.metrics["accuracy_score"] == 1.0


def test_single_class_test_set_has_nan_auc(tracking_uri: str, binary: Case) -> None:
    only_positive = binary.test[binary.test["y"] == 1]
    metrics = evaluate(binary.good, only_positive, targets="y").metrics
    assert math.isnan(metrics["roc_auc"]) and math.isnan(metrics["precision_recall_auc"])
    assert 0 < metrics["accuracy_score"] <= 1  # everything else is still computed


def test_regressor_evaluated_as_classifier(tracking_uri: str, diabetes: Case) -> None:
    with pytest.raises(InvalidInput, match="continuous.*model_type='regressor'"):
        evaluate(diabetes.good, diabetes.test, targets="y")


def test_labels_never_predicted_and_unknown_labels(tracking_uri: str, iris: Case) -> None:
    """A class the model never predicts scores 0 precision; a label the model does not
    know makes the probability metrics NaN (documented), never a traceback."""
    from sklearn.linear_model import LogisticRegression

    two_class = iris.test[iris.test["y"] < 2]
    model = LogisticRegression(max_iter=1000).fit(two_class.drop(columns="y"), two_class["y"])
    result = evaluate(model, iris.test, targets="y")
    row = next(r for r in result.per_class if r["label"] == 2)
    assert row["precision"] == 0.0 and row["recall"] == 0.0 and row["support"] > 0
    assert math.isnan(result.metrics["log_loss"]) and math.isnan(result.metrics["roc_auc"])


def test_string_targets_against_numeric_predictions(tracking_uri: str, iris: Case) -> None:
    named = iris.test.assign(y=iris.test["y"].map({0: "setosa", 1: "versicolor", 2: "virginica"}))
    with pytest.raises(InvalidInput, match="cannot be compared"):
        evaluate(iris.good, named, targets="y")


def test_signature_is_enforced_first(tracking_uri: str, iris: Case) -> None:
    version = register(iris.good, "iris", iris.features)
    as_text = iris.test.astype({"sepal length (cm)": str})
    with pytest.raises(SchemaError, match="sepal length"):
        evaluate(f"models:/iris/{version}", as_text, targets="y")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model_type": "clustering"}, "model_type must be one of"),
        ({"evaluator_config": {"averag": "macro"}}, "unknown evaluator_config keys averag"),
        ({"evaluator_config": {"average": "binary"}}, "'binary' only with two classes"),
        ({"evaluator_config": {"pos_label": 7}}, "pos_label"),
    ],
)
def test_bad_arguments(
    tracking_uri: str, iris: Case, kwargs: dict[str, object], match: str
) -> None:
    data = iris.test if "pos_label" not in str(kwargs) else iris.test[iris.test["y"] < 2]
    with pytest.raises(InvalidInput, match=match):
        evaluate(iris.good, data, targets="y", **kwargs)  # type: ignore[arg-type]


def test_bad_data_sources(tracking_uri: str, iris: Case, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="DataFrame"):
        evaluate(iris.good, [[1, 2]], targets="y")
    with pytest.raises(InvalidInput, match="does not exist"):
        evaluate(iris.good, tmp_path / "missing.parquet", targets="y")
    with pytest.raises(InvalidInput, match="unknown type"):
        evaluate(iris.good, tmp_path / "data.xlsx", targets="y")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    with pytest.raises(InvalidInput, match="not a readable parquet"):
        evaluate(iris.good, tmp_path / "junk.parquet", targets="y")
    with pytest.raises(InvalidInput, match="no rows"):
        evaluate(iris.good, iris.test.iloc[:0], targets="y")


def test_failing_model_is_a_prediction_error_and_nothing_is_recorded(
    tracking_uri: str, iris: Case
) -> None:
    def broken(frame: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("boom")

    with pytest.raises(ModelpackError, match="raised RuntimeError"):
        evaluate(broken, iris.test, targets="y")
    assert Client().search_runs() == []  # no half-logged run
