"""``/invocations`` answers byte for byte what ``mlflow models serve`` answers.

The same model directories, saved by real MLflow (``make_parity_models.py``), are served
by MLflow 3 (``mlflow models serve --env-manager local``, from the cached MLflow venv) and
by ``modelpack serve``; each request form of MLflow's documentation goes to both, and
the status and raw body bytes must be equal. Each server starts once per module.

Deliberate differences, not compared here: error bodies (MLflow's messages quote the
request's data, ours never do), and positional rows (``instances``/``inputs`` as lists of
lists) for a model with named columns, which MLflow refuses and modelpack matches by
position.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving_helpers import Server

sys.path.insert(0, str(Path(__file__).parents[1]))
from mlflow_venv import mlflow_python  # noqa: E402

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ROWS = [[5.1, 3.5, 1.4, 0.2], [6.3, 2.9, 5.6, 1.8], [5.9, 3.0, 4.2, 1.5]]
JSON = "application/json"
MODELS = ("sklearn", "onnx_columns", "onnx_tensor")


def _forms(column_model: bool) -> dict[str, tuple[str, str]]:
    """The request forms of MLflow's documentation, as ``name: (content type, body)``."""
    records = [dict(zip(COLUMNS, row, strict=True)) for row in ROWS]
    forms = {
        "dataframe_split": {"dataframe_split": {"columns": COLUMNS, "data": ROWS}},
        "dataframe_split_index": {
            "dataframe_split": {"index": [7, 8, 9], "columns": COLUMNS, "data": ROWS}
        },
        "dataframe_records": {"dataframe_records": records},
        "one_record": {"dataframe_records": records[:1]},
        "columns_reordered": {
            "dataframe_split": {"columns": COLUMNS[::-1], "data": [r[::-1] for r in ROWS]}
        },
        "extra_column": {"dataframe_records": [{**r, "note": "x"} for r in records]},
        "integers_for_doubles": {"dataframe_split": {"columns": COLUMNS, "data": [[5, 3, 1, 0]]}},
    }
    if column_model:
        forms["instances"] = {"instances": records}
        forms["inputs"] = {"inputs": {c: [row[i] for row in ROWS] for i, c in enumerate(COLUMNS)}}
    else:
        forms["instances"] = {"instances": ROWS}
        forms["inputs"] = {"inputs": ROWS}
    out = {name: (JSON, json.dumps(doc)) for name, doc in forms.items()}
    if column_model:
        csv = ",".join(COLUMNS) + "\n" + "\n".join(",".join(map(str, r)) for r in ROWS) + "\n"
        out["csv"] = ("text/csv", csv)
    return out


@pytest.fixture(scope="module")
def parity_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parity-models")
    script = Path(__file__).with_name("make_parity_models.py")
    subprocess.run([mlflow_python(), str(script), str(out)], check=True, capture_output=True)
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serving_until_done(
    urls: dict[str, str], procs: list[subprocess.Popen[bytes]], logs: Path
) -> Iterator[dict[str, str]]:
    """Wait until every ``mlflow models serve`` answers /ping, yield their URLs, then
    stop each with its process group (the mlflow CLI and the uvicorn it started)."""
    try:
        deadline = time.monotonic() + 300
        for (name, url), proc in zip(urls.items(), procs, strict=True):
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((logs / f"{name}.log").read_text()[-3000:])
                try:
                    if httpx.get(f"{url}/ping", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.5)
        yield urls
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, 15)  # the mlflow CLI and the uvicorn it started
        for proc in procs:
            proc.wait(30)


@pytest.fixture(scope="module")
def mlflow_servers(parity_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """``mlflow models serve`` for each model, all started at once (each takes a while)."""
    python = mlflow_python()
    # MLflow runs `uvicorn` by name: its venv's must come first on PATH
    env = {**os.environ, "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}"}
    logs = tmp_path_factory.mktemp("mlflow-logs")
    procs, urls = [], {}
    for name in MODELS:
        port = _free_port()
        command = [python, "-m", "mlflow", "models", "serve", "--env-manager", "local"]
        command += ["-m", str(parity_models / name), "-p", str(port), "-h", "127.0.0.1"]
        with (logs / f"{name}.log").open("wb") as log:
            procs.append(
                subprocess.Popen(
                    command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
                )
            )
        urls[name] = f"http://127.0.0.1:{port}"
    yield from serving_until_done(urls, procs, logs)


@pytest.fixture(scope="module")
def our_servers(start_server: Any, parity_models: Path) -> dict[str, Server]:
    return {name: start_server(parity_models / name) for name in MODELS}


@pytest.mark.parametrize("model", MODELS)
def test_invocations_answer_as_mlflow_does(
    model: str, mlflow_servers: dict[str, str], our_servers: dict[str, Server]
) -> None:
    ours = our_servers[model].client
    compared = 0
    for form, (content_type, body) in _forms(model != "onnx_tensor").items():
        headers = {"Content-Type": content_type}
        theirs = httpx.post(f"{mlflow_servers[model]}/invocations", content=body, headers=headers)
        mine = ours.post("/invocations", content=body, headers=headers)
        assert mine.status_code == theirs.status_code, (form, theirs.text, mine.text)
        if theirs.status_code == 200:
            assert mine.content == theirs.content, form
            assert mine.headers["content-type"] == theirs.headers["content-type"], form
            compared += 1
    assert compared >= 6


def test_multi_output_onnx_answers_records(our_servers: dict[str, Server]) -> None:
    # a column model's outputs, one value per row each, come back as one record per row
    body = {"dataframe_split": {"columns": COLUMNS, "data": ROWS[:1]}}
    answer = our_servers["onnx_columns"].client.post("/invocations", json=body).json()
    assert answer == {"predictions": [{"total": pytest.approx(10.2, rel=1e-6), "label": 0}]}
