"""``modelpack serve`` and ``modelpack predict`` with ``models:/`` URIs resolved through a
tracking server, run as a user types them (subprocesses, real ports)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

import modelpack
from modelpack.tracking import Client
from tests.serve_process import serving

pytestmark = pytest.mark.needs("registry", "artifacts")


@pytest.fixture(scope="module")
def two_models() -> tuple[Any, Any, Any]:
    """Iris features, a real classifier, and one that always answers class 2."""
    from sklearn.datasets import load_iris
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    constant = DummyClassifier(strategy="constant", constant=2).fit(x, y)
    return x, LogisticRegression(max_iter=500).fit(x, y), constant


def _register(name: str, x: Any, estimator: Any) -> int:
    with modelpack.start_run():
        info = modelpack.sklearn.log_model(
            estimator,
            name="model",
            registered_model_name=name,
            signature=modelpack.infer_signature(x, estimator.predict(x)),
        )
    assert info.registered_model_version is not None
    return info.registered_model_version


def _predict(url: str, x: Any) -> list[int]:
    body = {"dataframe_split": x.to_dict(orient="split")}
    answer = httpx.post(f"{url}/invocations", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return [int(v) for v in answer.json()["predictions"]]


def test_serve_follows_an_alias_moved_through_the_server(
    tracking_server_url: str, two_models: tuple[Any, Any, Any], tmp_path: Path
) -> None:
    x, classifier, constant = two_models
    name = f"served-{uuid.uuid4().hex[:8]}"
    _register(name, x, classifier)
    _register(name, x, constant)
    client = Client()
    client.set_registered_model_alias(name, "champion", 1)
    rows = x.iloc[[0, 1, 2]]  # all class 0 for the classifier
    argv = [sys.executable, "-m", "modelpack", "serve", "-m", f"models:/{name}@champion",
            "--port", "0", "--watch", "--watch-interval", "0.5"]  # fmt: skip
    with serving(argv, cwd=tmp_path, env=dict(os.environ)) as url:
        assert httpx.get(f"{url}/metadata").json()["version"] == "1"
        assert _predict(url, rows) == [0, 0, 0]
        client.set_registered_model_alias(name, "champion", 2)
        deadline = time.monotonic() + 90
        while httpx.get(f"{url}/metadata").json()["version"] != "2":
            assert time.monotonic() < deadline, "--watch never picked up the alias move"
            time.sleep(0.3)
        assert _predict(url, rows) == [2, 2, 2]


def test_predict_cli_scores_a_registered_version(
    tracking_server_url: str, two_models: tuple[Any, Any, Any], tmp_path: Path
) -> None:
    x, classifier, _ = two_models
    name = f"batch-{uuid.uuid4().hex[:8]}"
    _register(name, x, classifier)
    source = tmp_path / "input.csv"
    x.iloc[[0, 60, 120]].to_csv(source, index=False)
    output = tmp_path / "scores.csv"
    argv = [sys.executable, "-m", "modelpack", "predict", "-m", f"models:/{name}/1",
            "-i", str(source), "-o", str(output)]  # fmt: skip
    done = subprocess.run(
        argv, cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    import pandas as pd

    scores = pd.read_csv(output)
    assert list(scores.iloc[:, -1]) == list(classifier.predict(x.iloc[[0, 60, 120]]))
