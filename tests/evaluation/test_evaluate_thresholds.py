"""MetricThreshold with MLflow's meaning; failures name each check with both values; gates."""

from __future__ import annotations

import pytest
from evaluation_cases import Case

from modelpack.errors import InvalidInput, ModelValidationFailed
from modelpack.evaluation import MetricThreshold, evaluate, parse_gates
from modelpack.evaluation.thresholds import check_thresholds


def test_passing_thresholds_return_the_result(tracking_uri: str, iris: Case) -> None:
    result = evaluate(
        iris.good, iris.test, targets="y", baseline_model=iris.weak,
        validation_thresholds={
            "accuracy_score": MetricThreshold(threshold=0.9, greater_is_better=True),
            "f1": MetricThreshold(min_absolute_change=0.05, greater_is_better=True),
            "log_loss": MetricThreshold(min_relative_change=0.1, greater_is_better=False),
        },
    )  # fmt: skip
    assert result.passed and len(result.checks) == 3
    assert {c.metric for c in result.checks} == {"accuracy_score", "f1_score", "log_loss"}


def test_failing_thresholds_name_each_check_with_both_values(tracking_uri: str, iris: Case) -> None:
    with pytest.raises(ModelValidationFailed) as caught:
        evaluate(
            iris.weak, iris.test, targets="y", baseline_model=iris.good,
            validation_thresholds={
                "accuracy_score": MetricThreshold(threshold=0.99, greater_is_better=True),
                "f1_score": MetricThreshold(min_absolute_change=0.0, greater_is_better=True),
                "recall_score": MetricThreshold(threshold=0.1, greater_is_better=True),
            },
        )  # fmt: skip
    error = caught.value
    assert error.error_code == "BAD_REQUEST"
    assert len(error.failures) == 2  # recall >= 0.1 passed
    result = error.result
    weak_acc = result.metrics["accuracy_score"]
    weak_f1, good_f1 = result.metrics["f1_score"], result.baseline_metrics["f1_score"]
    assert f"candidate {weak_acc:.6g} must be >= 0.99" in error.message
    assert f"candidate {weak_f1:.6g} must be >= baseline {good_f1:.6g} + 0" in error.message


@pytest.mark.parametrize(
    ("rule", "candidate", "baseline", "passed"),
    [
        (MetricThreshold(threshold=0.8, greater_is_better=True), 0.8, None, True),
        (MetricThreshold(threshold=0.8, greater_is_better=False), 0.81, None, False),
        (MetricThreshold(min_absolute_change=0.05, greater_is_better=True), 0.85, 0.8, True),
        (MetricThreshold(min_absolute_change=0.05, greater_is_better=False), 0.76, 0.8, False),
        # relative to |baseline|: a negative R2 baseline still points the right way
        (MetricThreshold(min_relative_change=0.5, greater_is_better=True), -0.4, -1.0, True),
        (MetricThreshold(min_relative_change=0.5, greater_is_better=True), -0.6, -1.0, False),
        # a zero baseline: the candidate only has to be better
        (MetricThreshold(min_relative_change=0.5, greater_is_better=False), -0.001, 0.0, True),
        (MetricThreshold(threshold=0.5, greater_is_better=True), float("nan"), None, False),
    ],
)
def test_mlflow_semantics(
    rule: MetricThreshold, candidate: float, baseline: float | None, passed: bool
) -> None:
    base = None if baseline is None else {"m": baseline}
    (check,) = check_thresholds({"m": rule}, {"m": candidate}, base)
    assert check.passed is passed


def test_missing_metric_fails_its_check() -> None:
    rule = MetricThreshold(threshold=0.5, greater_is_better=True)
    (check,) = check_thresholds({"no_such_metric": rule}, {"m": 1.0}, None)
    assert not check.passed and "missing" in check.message


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": 0.5},  # greater_is_better is required
        {"greater_is_better": True},  # no rule at all
        {"min_relative_change": 1.5, "greater_is_better": True},
        {"min_absolute_change": -1.0, "greater_is_better": True},
        {"threshold": "high", "greater_is_better": True},
    ],
)
def test_bad_thresholds_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        MetricThreshold(**kwargs)  # type: ignore[arg-type]


def test_comparison_without_baseline_is_refused(tracking_uri: str, iris: Case) -> None:
    rule = MetricThreshold(min_absolute_change=0.01, greater_is_better=True)
    with pytest.raises(InvalidInput, match="pass baseline_model"):
        evaluate(iris.good, iris.test, targets="y", validation_thresholds={"f1_score": rule})


def test_gates_parse_to_thresholds() -> None:
    parsed = parse_gates(
        [
            "accuracy>=0.9",
            "f1>=baseline+0.01",
            "f1 >= 0.5",
            "rmse<=baseline-5%",
            "log_loss<=baseline",
        ]
    )
    assert parsed["accuracy_score"] == MetricThreshold(threshold=0.9, greater_is_better=True)
    assert parsed["f1_score"] == MetricThreshold(
        threshold=0.5, min_absolute_change=0.01, greater_is_better=True
    )
    assert parsed["root_mean_squared_error"] == MetricThreshold(
        min_relative_change=0.05, greater_is_better=False
    )
    assert parsed["log_loss"] == MetricThreshold(min_absolute_change=0.0, greater_is_better=False)


@pytest.mark.parametrize(
    "gate", ["accuracy", "accuracy>0.9", "f1>=baseline-0.01", "f1>=champion", "acc>=1;rm -rf /"]
)
def test_bad_gates_are_refused(gate: str) -> None:
    with pytest.raises(InvalidInput, match="gate"):
        parse_gates([gate])


def test_gates_in_two_directions_are_refused() -> None:
    with pytest.raises(InvalidInput, match="mix"):
        parse_gates(["f1>=0.5", "f1<=0.9"])
