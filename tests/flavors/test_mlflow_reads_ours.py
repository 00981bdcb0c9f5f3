"""Real MLflow loads the sklearn directories modelpack saves and predicts the same values.

One subprocess in the cached MLflow venv (tests/mlflow_venv.py) checks every model,
through both ``mlflow.pyfunc.load_model`` and ``mlflow.sklearn.load_model``: importing
MLflow takes seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import modelpack

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mlflow_venv import mlflow_python  # noqa: E402

MLFLOW_LOADS = """
import json, sys, warnings
warnings.simplefilter("ignore")
import mlflow.pyfunc, mlflow.sklearn
import pandas as pd
cases = json.loads(sys.stdin.read())
out = {}
for name, case in cases.items():
    frame = pd.DataFrame(case["data"], columns=case["columns"])
    out[name] = {
        "pyfunc": mlflow.pyfunc.load_model(case["path"]).predict(frame).tolist(),
        "sklearn": mlflow.sklearn.load_model(case["path"]).predict(frame).tolist(),
    }
print(json.dumps(out))
"""


def _models(iris_lr: LogisticRegression, features: Any, target: Any) -> dict[str, Any]:
    columns = ColumnTransformer(
        [("scaled", StandardScaler(), ["sepal length (cm)", "sepal width (cm)"])],
        remainder="passthrough",
    )
    return {
        "skops-default-lr": (iris_lr, "skops"),
        "skops-random-forest": (
            RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(
                features, target
            ),
            "skops",
        ),
        "skops-pipeline": (
            make_pipeline(
                columns, FunctionTransformer(np.abs), LogisticRegression(max_iter=500)
            ).fit(features, target),
            "skops",
        ),
        "cloudpickle-lr": (iris_lr, "cloudpickle"),
    }


@pytest.mark.slow
def test_mlflow_pyfunc_and_sklearn_load_what_modelpack_saved(iris_lr, iris, tmp_path) -> None:
    features, target = iris
    head = features.head(20)
    cases, expected = {}, {}
    for name, (model, fmt) in _models(iris_lr, features, target).items():
        path = tmp_path / name
        modelpack.sklearn.save_model(model, path, serialization_format=fmt)
        trust = fmt != "skops"  # our skops directories load untrusted in modelpack too
        expected[name] = modelpack.load_model(path, trust=trust).predict(head).tolist()
        cases[name] = {
            "path": str(path),
            "columns": list(head.columns),
            "data": head.values.tolist(),
        }
    # MLflow 3.17 refuses every serialized sklearn model, skops included, unless this is
    # set: its own switch, documented in its error message.
    env = {**os.environ, "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
    env.pop("PYTHONPATH", None)  # MLflow's venv must not see modelpack
    proc = subprocess.run(
        [mlflow_python(), "-c", MLFLOW_LOADS],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, labels in expected.items():
        assert got[name]["pyfunc"] == labels, name
        assert got[name]["sklearn"] == labels, name
