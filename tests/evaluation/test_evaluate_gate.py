"""The promotion gate and the ``modelpack evaluate`` command, through the real root CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from evaluation_cases import Case, register

from modelpack.cli import cli
from modelpack.errors import PromotionRefused
from modelpack.evaluation import MetricThreshold, evaluate, require_evaluation
from modelpack.tracking import Client


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def registry(tracking_uri: str, iris: Case, tmp_path: Path) -> Path:
    """Versions 1 (weak, champion and Production), 2 (good), 3 (weak); a test parquet."""
    for model in (iris.weak, iris.good, iris.weak):
        register(model, "iris", iris.features)
    client = Client()
    client.set_registered_model_alias("iris", "champion", 1)
    client.transition_model_version_stage("iris", 1, "Production")
    path = tmp_path / "test.parquet"
    iris.test.to_parquet(path, index=False)
    return path


def test_api_gate_refuses_then_allows(registry: Path) -> None:
    client = Client()
    with pytest.raises(PromotionRefused, match="no recorded evaluation.*modelpack evaluate"):
        require_evaluation(client, "iris", 2, alias="champion")
    evaluate(
        "models:/iris/2", registry, targets="y", baseline_model="models:/iris@champion",
        validation_thresholds={"f1": MetricThreshold(min_absolute_change=0.1, greater_is_better=True)},
    )  # fmt: skip
    require_evaluation(client, "iris", 2, alias="champion")  # passes now
    require_evaluation(client, "iris", 2, stage="production")  # holder of Production is v1 too
    client.set_registered_model_alias("iris", "champion", 2)
    # the verdict was against version 1; the champion is now 2, so 3 needs its own evaluation
    with pytest.raises(PromotionRefused, match="no recorded evaluation"):
        require_evaluation(client, "iris", 3, alias="champion")
    require_evaluation(client, "iris", 2, alias="champion")  # already the holder


def test_stale_and_gateless_evaluations_are_refused(registry: Path) -> None:
    client = Client()
    evaluate("models:/iris/2", registry, targets="y", baseline_model="models:/iris/3",
             validation_thresholds={"accuracy": MetricThreshold(threshold=0.5, greater_is_better=True)})  # fmt: skip
    with pytest.raises(PromotionRefused, match="against version 3.*held by version 1"):
        require_evaluation(client, "iris", 2, alias="champion")
    evaluate("models:/iris/2", registry, targets="y", baseline_model="models:/iris@champion")
    with pytest.raises(PromotionRefused, match="without any gate"):
        require_evaluation(client, "iris", 2, alias="champion")
    # an alias nobody holds yet: any passing evaluation with a gate will do
    evaluate("models:/iris/2", registry, targets="y",
             validation_thresholds={"accuracy": MetricThreshold(threshold=0.5, greater_is_better=True)})  # fmt: skip
    require_evaluation(client, "iris", 2, alias="challenger")


def test_cli_gate_on_set_alias_and_transition(registry: Path) -> None:
    refused = invoke("models", "set-alias", "iris", "champion", "2", "--require-evaluation")
    assert refused.exit_code == 1 and "no recorded evaluation" in refused.output
    assert Client().get_model_version_by_alias("iris", "champion").version == 1  # unchanged

    failed = invoke(
        "evaluate", "-m", "models:/iris/3", "--baseline", "models:/iris@champion",
        "--data", str(registry), "--target", "y", "--gate", "f1>=baseline+0.01",
    )  # fmt: skip
    assert failed.exit_code == 1
    assert "FAIL  f1_score: candidate" in failed.output and "verdict: FAIL" in failed.output
    refused = invoke("models", "transition", "iris", "3", "Production", "--require-evaluation")
    assert refused.exit_code == 1 and "failed its evaluation" in refused.output

    passed = invoke(
        "evaluate", "-m", "models:/iris/2", "--baseline", "models:/iris@champion",
        "--data", str(registry), "--target", "y", "--gate", "accuracy>=0.9",
        "--gate", "f1>=baseline+0.01",
    )  # fmt: skip
    assert passed.exit_code == 0, passed.output
    assert "verdict: PASS" in passed.output and "95% CI" in passed.output
    moved = invoke("models", "set-alias", "iris", "champion", "2", "--require-evaluation")
    assert moved.exit_code == 0 and "now points at version 2" in moved.output
    moved = invoke("models", "transition", "iris", "2", "production", "--require-evaluation")
    assert moved.exit_code == 0
    assert Client().get_latest_versions("iris", ["Production"])[0].version == 2


def test_cli_json_and_usage_errors(registry: Path) -> None:
    out = invoke(
        "evaluate", "-m", "models:/iris/2", "--data", str(registry), "--target", "y",
        "--gate", "accuracy>=0.5", "--json",
    )  # fmt: skip
    assert out.exit_code == 0
    data = json.loads(out.output)
    assert data["passed"] is True and data["candidate"] == {
        "uri": "models:/iris/2",
        "name": "iris",
        "version": 2,
    }
    assert data["data"]["rows"] == 60 and data["checks"][0]["metric"] == "accuracy_score"

    bad_gate = invoke("evaluate", "-m", "models:/iris/2", "--data", str(registry), "--target", "y",
                      "--gate", "accuracy=0.5")  # fmt: skip
    assert bad_gate.exit_code == 2 and "not understood" in bad_gate.output
    no_baseline = invoke("evaluate", "-m", "models:/iris/2", "--data", str(registry),
                         "--target", "y", "--gate", "f1>=baseline")  # fmt: skip
    assert no_baseline.exit_code == 2 and "--baseline" in no_baseline.output
    missing = invoke("evaluate", "-m", "models:/iris/2", "--data", str(registry))
    assert missing.exit_code == 2
    no_column = invoke(
        "evaluate", "-m", "models:/iris/2", "--data", str(registry), "--target", "nope"
    )
    assert no_column.exit_code == 1 and no_column.output.startswith("error: the data has no target")
