"""Our metric values equal ``mlflow.models.evaluate``'s on the same models and data.

One subprocess in the cached MLflow venv (tests/mlflow_venv.py) evaluates every case;
the estimators cross over as pickles (both sides run the same scikit-learn release).
"""

from __future__ import annotations

import json
import pickle
import subprocess
from pathlib import Path

import pytest
from evaluation_cases import Case

from modelpack.evaluation import evaluate
from tests.mlflow_venv import mlflow_python

SCRIPT = r"""
import json, pickle, sys, warnings
warnings.simplefilter("ignore")
import mlflow, pandas as pd

root = sys.argv[1]
mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
out = {}
for case in json.loads(sys.argv[2]):
    with open(f"{root}/{case['name']}.pkl", "rb") as handle:
        model = pickle.load(handle)
    data = pd.read_parquet(f"{root}/{case['name']}.parquet")
    path = f"{root}/{case['name']}-model"
    mlflow.sklearn.save_model(model, path)
    with mlflow.start_run():
        result = mlflow.models.evaluate(
            path, data, targets="y", model_type=case["model_type"],
            evaluator_config={"log_model_explainability": False},
        )
    out[case["name"]] = {k: float(v) for k, v in result.metrics.items()}
print(json.dumps(out))
"""

SHARED = {
    "classifier": [
        "example_count", "accuracy_score", "precision_score", "recall_score", "f1_score",
        "log_loss", "roc_auc", "precision_recall_auc", "true_negatives", "false_positives",
        "false_negatives", "true_positives",
    ],
    "regressor": [
        "example_count", "mean_absolute_error", "mean_squared_error", "root_mean_squared_error",
        "r2_score", "max_error", "mean_absolute_percentage_error", "sum_on_target",
        "mean_on_target",
    ],
}  # fmt: skip


@pytest.mark.slow
def test_same_values_as_mlflow_evaluate(
    tracking_uri: str, tmp_path: Path, iris: Case, binary: Case, diabetes: Case
) -> None:
    cases = [
        ("iris", iris, "classifier"),
        ("binary", binary, "classifier"),
        ("diabetes", diabetes, "regressor"),
    ]
    ours = {}
    for name, case, model_type in cases:
        (tmp_path / f"{name}.pkl").write_bytes(pickle.dumps(case.good))
        case.test.to_parquet(tmp_path / f"{name}.parquet", index=False)
        ours[name] = evaluate(case.good, case.test, targets="y", model_type=model_type).metrics
    spec = json.dumps([{"name": n, "model_type": t} for n, _, t in cases])
    done = subprocess.run(
        [mlflow_python(), "-c", SCRIPT, str(tmp_path), spec],
        capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    compared = 0
    for name, _, model_type in cases:
        for key in SHARED[model_type]:
            if key not in theirs[name]:
                continue  # multiclass: MLflow has no PR AUC or confusion counts
            assert ours[name][key] == pytest.approx(theirs[name][key], rel=1e-9), (name, key)
            compared += 1
    assert compared >= 25
