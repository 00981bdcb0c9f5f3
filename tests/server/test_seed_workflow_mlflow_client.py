"""The seed workflow, end to end, with the unmodified MLflow 3.17.2 client against
``modelpack server``: one subprocess sets an experiment, logs a run and a scikit-learn
model (MLflow 3 logged model, signature, input example), registers it, moves it to
Production, gives it an alias, searches, reads metric history, and loads it back by
``models:/name/1``, ``@alias``, ``/latest``, ``/Production`` and ``runs:/`` — predicting
with each. Run on SQLite with local artifacts (open) and on the team set-up:
PostgreSQL, artifacts on S3 (``moto_server``) reached only by the server, ``--auth``
with a token. Checked through modelpack's own Client and loader on the same store."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import modelpack
from modelpack.server.auth import AuthStore
from modelpack.tracking import Client, config
from modelpack.tracking.stores.sql.logged_models import get_logged_model
from tests.mlflow_venv import mlflow_python
from tests.pg_server import PostgresServer
from tests.s3_server import MotoServer
from tests.serve_process import serving
from tests.server.tracking_server import RunningServer, server_argv

SEED = r"""
import json, sys
import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

mlflow.set_tracking_uri(sys.argv[1])
name = sys.argv[2]
X, y = load_iris(return_X_y=True, as_frame=True)
clf = LogisticRegression(max_iter=300).fit(X, y)
experiment = mlflow.set_experiment("seed")
with mlflow.start_run(run_name="train") as run:
    mlflow.log_param("max_iter", 300)
    mlflow.log_metric("acc", 0.5, step=0)
    mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=1)
    mlflow.set_tag("team", "seed")
    info = mlflow.sklearn.log_model(
        clf, name="model", signature=infer_signature(X, clf.predict(X)), input_example=X.head(3)
    )
client = MlflowClient()
version = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
client.transition_model_version_stage(name, version.version, "Production")
client.set_registered_model_alias(name, "champion", version.version)
found = mlflow.search_runs(experiment_ids=[experiment.experiment_id], filter_string="metrics.acc > 0.5")
history = client.get_metric_history(run.info.run_id, "acc")
rows = X.iloc[[0, 60, 120]]
predictions = {}
for uri in (f"models:/{name}/1", f"models:/{name}@champion", f"models:/{name}/latest",
            f"models:/{name}/Production", f"runs:/{run.info.run_id}/model"):
    predictions[uri] = np.asarray(mlflow.pyfunc.load_model(uri).predict(rows)).tolist()
print(json.dumps({
    "experiment_id": experiment.experiment_id,
    "run_id": run.info.run_id,
    "model_id": info.model_id,
    "version": version.version,
    "found": list(found["run_id"]),
    "history": [[m.step, m.value] for m in history],
    "expected": clf.predict(rows).tolist(),
    "predictions": predictions,
}))
"""
NAME = "seed-iris"


def _run_seed(url: str, extra_env: dict[str, str]) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MODELPACK_"))}
    env |= {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",  # a 5xx fails at once, not after minutes
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",  # MLflow's own loader asks for it
        **extra_env,
    }
    done = subprocess.run(
        [mlflow_python(), "-c", SEED, url, NAME],
        capture_output=True, text=True, timeout=900, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-5000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module", params=["sqlite", "postgresql-s3-auth"])
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, dict[str, object], dict[str, str]]]:
    """(server, what the MLflow client reported, the environment that opens the store)."""
    root = tmp_path_factory.mktemp(f"seed-{request.param}")
    store_env: dict[str, str] = {}
    if request.param == "sqlite":
        store_uri = f"sqlite:///{root / 'store.db'}"
        argv, client_env = server_argv(store_uri), {}
    else:
        pg: PostgresServer = request.getfixturevalue("postgres_server")
        s3: MotoServer = request.getfixturevalue("s3_server")
        store_uri = pg.create_database()
        # only the server gets the S3 endpoint and keys: the MLflow client goes through it
        store_env |= s3.environ()
        store_env["MODELPACK_CACHE_DIR"] = str(root / "cache")
        destination = f"s3://{s3.create_bucket()}/artifacts"
        auth = AuthStore(root / "auth.db")
        auth.create_user("ci", "ci-password-1", "EDIT")
        argv = server_argv(store_uri, "--auth", "--auth-db", str(root / "auth.db"),
                           "--artifacts-destination", destination)  # fmt: skip
        client_env = {"MLFLOW_TRACKING_TOKEN": auth.create_token("ci")}
    env = {**os.environ, **store_env}
    with serving(argv, cwd=root, env=env) as url:
        if request.param != "sqlite":  # this process opens the same store: same artifact root
            store_env["MODELPACK_ARTIFACT_ROOT"] = destination
        auth_db = None if request.param == "sqlite" else root / "auth.db"
        yield RunningServer(url, store_uri, auth_db), _run_seed(url, client_env), store_env


def test_mlflow_client_runs_the_seed_workflow(
    seeded: tuple[RunningServer, dict[str, object], dict[str, str]],
) -> None:
    _, result, _ = seeded
    assert result["version"] == "1"
    assert result["found"] == [result["run_id"]]
    assert result["history"] == [[0, 0.5], [1, 0.9]]
    predictions = result["predictions"]
    assert isinstance(predictions, dict) and len(predictions) == 5
    assert all(p == result["expected"] for p in predictions.values()), predictions
    assert result["expected"] == [0, 1, 2]  # one row per class: a real model, not a constant


def test_modelpack_reads_what_the_mlflow_client_wrote(
    seeded: tuple[RunningServer, dict[str, object], dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, result, store_env = seeded
    for key, value in store_env.items():
        monkeypatch.setenv(key, value)
    client = Client(server.store_uri)
    run = client.get_run(str(result["run_id"]))
    assert run.data.params == {"max_iter": "300"}
    assert run.data.metrics == {"acc": 0.9, "f1": 0.8}
    assert run.data.tags["team"] == "seed" and run.info.status == "FINISHED"
    version = client.get_model_version(NAME, 1)
    assert version.current_stage == "Production" and version.aliases == ("champion",)
    assert version.run_id == result["run_id"] and version.source == f"models:/{result['model_id']}"
    logged = get_logged_model(client.store, str(result["model_id"]))
    assert (logged.status, logged.name, logged.source_run_id) == (
        "READY",
        "model",
        result["run_id"],
    )

    monkeypatch.setenv("MODELPACK_TRACKING_URI", server.store_uri)
    config.reset_tracking_uri()
    try:
        from sklearn.datasets import load_iris

        X, _ = load_iris(return_X_y=True, as_frame=True)
        model = modelpack.load_model(f"models:/{NAME}@champion")
        assert model.predict(X.iloc[[0, 60, 120]]).tolist() == result["expected"]
    finally:
        config.reset_tracking_uri()
    if "MODELPACK_ARTIFACT_ROOT" in store_env:
        assert version.storage_location.startswith("s3://")
    else:
        assert Path(version.storage_location).is_dir()


def test_ids_the_database_cannot_hold_are_400(
    seeded: tuple[RunningServer, dict[str, object], dict[str, str]],
) -> None:
    # PostgreSQL refuses a string in an integer column with an error; the server must
    # answer the caller's mistake with a 400 before any query, on both backends
    server, _, store_env = seeded
    headers = {}
    if server.auth_db is not None:  # the PostgreSQL server runs with --auth
        auth = AuthStore(server.auth_db)
        headers = {"Authorization": f"Bearer {auth.create_token('ci')}"}
    bad = "Zq9canary"
    answers = [
        httpx.get(server.api("/experiments/get"), params={"experiment_id": bad}, headers=headers),
        httpx.post(server.api("/runs/create"), json={"experiment_id": bad}, headers=headers),
        httpx.post(server.api("/runs/search"), json={"experiment_ids": [bad]}, headers=headers),
        httpx.post(server.api("/logged-models"), json={"experiment_id": bad}, headers=headers),
        httpx.post(server.api("/experiments/delete"), json={"experiment_id": bad}, headers=headers),
    ]
    assert [a.status_code for a in answers] == [400] * len(answers)
    assert all(bad not in a.text for a in answers)
