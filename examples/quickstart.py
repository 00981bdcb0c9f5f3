"""The main job, end to end, on the embedded store (./modelpack-store, no server needed).

Train an iris classifier → track the run → log and register the model → promote it
with an alias → load it back by ``models:/`` URI → score a parquet file in batch →
serve it over HTTP and send one MLflow-format request.

    python examples/quickstart.py

Set MODELPACK_TRACKING_URI to use another store (e.g. sqlite:///team.db).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

import modelpack

MODEL_NAME = "iris-classifier"


def train_and_register() -> int:
    features, target = load_iris(return_X_y=True, as_frame=True)
    x_train, x_test, y_train, y_test = train_test_split(features, target, random_state=42)
    modelpack.set_experiment("iris-quickstart")
    with modelpack.start_run(run_name="random-forest") as run:
        params = {"n_estimators": 60, "max_depth": 4, "random_state": 42}
        modelpack.log_params(params)
        model = RandomForestClassifier(**params).fit(x_train, y_train)
        for step, n_trees in enumerate(range(10, 61, 10)):  # accuracy as the forest grows
            partial = RandomForestClassifier(**{**params, "n_estimators": n_trees})
            score = accuracy_score(y_test, partial.fit(x_train, y_train).predict(x_test))
            modelpack.log_metric("accuracy", score, step=step)
        predictions = model.predict(x_test)
        modelpack.log_metrics(
            {"f1_macro": f1_score(y_test, predictions, average="macro"),
             "final_accuracy": accuracy_score(y_test, predictions)}
        )  # fmt: skip
        info = modelpack.sklearn.log_model(
            model,
            "model",
            signature=modelpack.infer_signature(x_train, model.predict(x_train)),
            input_example=x_train.head(3),
            registered_model_name=MODEL_NAME,
        )
    print(f"run {run.info.run_id}: logged {info.model_uri}")
    version = int(info.registered_model_version)
    client = modelpack.Client()
    client.set_registered_model_alias(MODEL_NAME, "champion", version)
    print(f"registered {MODEL_NAME} version {version}, alias 'champion' → v{version}")
    return version


def load_and_predict() -> pd.DataFrame:
    model = modelpack.load_model(f"models:/{MODEL_NAME}@champion")
    sample = load_iris(as_frame=True).data.sample(5, random_state=1)
    print(f"predictions by models:/{MODEL_NAME}@champion: {model.predict(sample).tolist()}")
    return sample


def batch_score(sample: pd.DataFrame, workdir: Path) -> None:
    source = workdir / "to_score.parquet"
    sample.to_parquet(source, index=False)
    target = workdir / "scored.parquet"
    subprocess.run(
        [sys.executable, "-m", "modelpack", "predict", "-m", f"models:/{MODEL_NAME}@champion",
         "-i", str(source), "-o", str(target), "--quiet"],
        check=True,
    )  # fmt: skip
    scored = pd.read_parquet(target)
    print(f"batch-scored {len(scored)} rows into {target.name}: columns {list(scored.columns)}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_one_request(sample: pd.DataFrame, workdir: Path) -> None:
    port = _free_port()
    log = (workdir / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "modelpack", "serve", "-m", f"models:/{MODEL_NAME}@champion",
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    details = (workdir / "server.log").read_text()[-2000:]
                    raise SystemExit(f"the server did not start:\n{details}") from None
                time.sleep(0.2)
        body = json.dumps({"dataframe_split": sample.head(2).to_dict(orient="split")}).encode()
        request = urllib.request.Request(
            f"{base}/invocations", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            print(f"POST /invocations → {response.status} {response.read().decode()}")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def main() -> None:
    print(f"tracking store: {modelpack.get_tracking_uri()}")
    train_and_register()
    sample = load_and_predict()
    with tempfile.TemporaryDirectory() as workdir:
        batch_score(sample, Path(workdir))
        serve_one_request(sample, Path(workdir))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
