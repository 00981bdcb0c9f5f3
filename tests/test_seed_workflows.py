"""The seed tutorials' MLflow workflows (/work/shared/seeds), ported by replacing the word
``mlflow`` with ``modelpack`` and nothing else: tracking, ``log_model(artifact_path=...)``,
``mlflow.models``, ``MlflowClient``, the registry, and ``mlflow models predict|serve``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from serve_process import serving

# Condensed from seeds 000-004, in MLflow's spelling; the test ports it with one replace.
SEED_WORKFLOW = """
import json
import os
from statistics import mean

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow import MlflowClient, log_artifacts, log_metric, log_param
from mlflow.models import Model
from mlflow.models.signature import infer_signature
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import Lasso
from sklearn.metrics import ConfusionMatrixDisplay, f1_score, mean_squared_error
from sklearn.model_selection import train_test_split

iris = load_iris()
X = pd.DataFrame(iris["data"], columns=iris["feature_names"])
y = iris.target
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

# 000: the iris random forest, logged with MLflow 2's artifact_path= and registered
mlflow.set_tracking_uri("sqlite:///mlflow.db")
mlflow.set_experiment("iris")
mlflow.start_run(run_name="test run")
model = RandomForestClassifier(n_estimators=20, random_state=0).fit(X_train, y_train)
y_predict = model.predict(X_test)
os.makedirs("logs", exist_ok=True)
ConfusionMatrixDisplay.from_estimator(model, X_test, y_test, cmap=plt.cm.Blues)
plt.savefig("logs/confusion_metrics.png")
log_param("n_estimators", 20)
log_metric("f1", mean(f1_score(y_test, y_predict, average=None)))
log_artifacts("logs")
signature = infer_signature(X_train, y_predict)
mlflow.sklearn.log_model(
    sk_model=model,
    artifact_path="artifacts",
    registered_model_name="iris-randomforest-classifier",
    signature=signature,
)
run_id = mlflow.active_run().info.run_id
mlflow.end_run()

# 001: the taxi-duration Lasso: a tag, params, a metric with a step, a positional name
with mlflow.start_run():
    mlflow.set_tag("developer", "Bengsoon")
    mlflow.log_param("train-data-path", "./data/fhv_tripdata_2021-01.parquet")
    alpha = 0.01
    mlflow.log_param("alpha", alpha)
    lr = Lasso(alpha=alpha).fit(X_train, X_train["petal width (cm)"])
    rmse = mean_squared_error(X_test["petal width (cm)"], lr.predict(X_test)) ** 0.5
    mlflow.log_metric("rmse", rmse, step=1)
    mlflow.sklearn.log_model(lr, "mymodel")

# 002: save_model and load_model by path; the signature read back from MLmodel
mlflow.sklearn.save_model(model, path="models/my_model", signature=signature)
loaded = mlflow.sklearn.load_model("models/my_model")
assert (loaded.predict(X_test) == y_predict).all()
meta = Model.load("models/my_model")
print("flavors", sorted(meta.flavors))
print("inputs", meta.get_input_schema().input_names())

# 003: the registry through MlflowClient, then a load by stage
client = MlflowClient()
client.create_registered_model("my_model")
client.create_model_version(name="my_model", source=f"runs:/{run_id}/artifacts", run_id=run_id)
client.transition_model_version_stage(name="my_model", version=1, stage="Production")
production = mlflow.pyfunc.load_model("models:/my_model/Production")
print("agree", bool((production.predict(X_test) == y_predict).all()))
print("logged signature", Model.load(f"runs:/{run_id}/artifacts").signature is not None)

head = X_test.head(3)
request = {"dataframe_split": {"columns": list(head.columns), "data": head.values.tolist()}}
with open("input.json", "w") as f:
    json.dump(request, f)
with open("expected.json", "w") as f:
    json.dump(y_predict[:3].tolist(), f)
"""


def modelpack_cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from modelpack.cli import main; main()", *args]


@pytest.fixture(scope="module")
def ported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    """(working directory, environment, stdout) of the ported workflow, run once."""
    workdir = tmp_path_factory.mktemp("seed")
    script = workdir / "workflow.py"
    script.write_text(SEED_WORKFLOW.replace("mlflow", "modelpack"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPACK_")}
    proc = subprocess.run(
        [sys.executable, "-W", "always::DeprecationWarning", str(script)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    env["MODELPACK_TRACKING_URI"] = f"sqlite:///{workdir / 'modelpack.db'}"
    return workdir, env, proc.stdout + proc.stderr


def test_the_ported_workflow_runs(ported: tuple[Path, dict[str, str], str]) -> None:
    _, _, out = ported
    assert "flavors ['python_function', 'sklearn']" in out
    assert "'sepal length (cm)', 'sepal width (cm)'" in out
    assert "agree True" in out and "logged signature True" in out
    # MLflow 2's artifact_path= works and says what to write instead
    assert "log_model(artifact_path=...) is deprecated; pass name=..." in out


def test_models_predict_as_mlflow_spells_it(ported: tuple[Path, dict[str, str], str]) -> None:
    workdir, env, _ = ported
    expected = json.loads((workdir / "expected.json").read_text())
    argv = modelpack_cli(
        "models", "predict", "-m", "models:/my_model/Production", "-i", "input.json",
        "-t", "json", "-o", "-",
    )  # fmt: skip
    proc = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"predictions": expected}


def test_models_serve_as_mlflow_spells_it(ported: tuple[Path, dict[str, str], str]) -> None:
    workdir, env, _ = ported
    expected = json.loads((workdir / "expected.json").read_text())
    argv = modelpack_cli("models", "serve", "-m", "models:/iris-randomforest-classifier/1")
    with serving([*argv, "-p", "0"], cwd=workdir, env=env) as url:
        answer = httpx.post(
            f"{url}/invocations",
            content=(workdir / "input.json").read_bytes(),
            headers={"Content-Type": "application/json"},
            timeout=30,
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": expected}
