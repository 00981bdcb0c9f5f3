"""The team set-up end to end: PostgreSQL for the registry, S3 for the artifacts.

Both are real servers on loopback (PostgreSQL from tests/pg_server.py, moto_server
from tests/s3_server.py); the commands run as a user types them, in their own
processes, with nothing but the environment pointing them at the two servers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

import modelpack
import modelpack.sklearn as sklearn_flavor
from modelpack.tracking import Client, config
from tests.pg_server import PostgresServer
from tests.serve_process import serving


def test_log_register_serve_and_predict_on_postgres_and_s3(
    postgres_server: PostgresServer,
    s3_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    uri = postgres_server.create_database()
    monkeypatch.setenv("MODELPACK_TRACKING_URI", uri)
    config.reset_tracking_uri()
    features, target = load_iris(return_X_y=True, as_frame=True)
    classifier = LogisticRegression(max_iter=300).fit(features, target)
    with modelpack.start_run():
        info = sklearn_flavor.log_model(
            classifier, name="model", input_example=features.head(3), registered_model_name="iris"
        )
    assert info.registered_model_version == 1
    client = Client()
    client.set_registered_model_alias("iris", "champion", 1)
    version = client.get_model_version("iris", 1)
    assert version.storage_location.startswith(s3_env["MODELPACK_ARTIFACT_ROOT"] + "/models/blobs/")
    assert not (tmp_path / "store").exists()  # nothing written beside the test but the cache

    rows = features.head(4)
    expected = classifier.predict(rows).tolist()
    env = {**dict(os.environ), "MODELPACK_CACHE_DIR": str(tmp_path / "cli-cache")}
    modelpack_cmd = str(Path(sys.executable).with_name("modelpack"))
    request = {"dataframe_split": {"columns": list(rows.columns), "data": rows.values.tolist()}}
    with serving(
        [modelpack_cmd, "serve", "-m", "models:/iris/1", "--port", "0"], cwd=tmp_path, env=env
    ) as url:
        answer = httpx.post(f"{url}/invocations", json=request, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": expected}
    assert (tmp_path / "cli-cache" / "models").is_dir()  # downloaded once into the cache

    (tmp_path / "request.json").write_text(json.dumps(request))
    proc = subprocess.run(
        [modelpack_cmd, "predict", "-m", "models:/iris@champion", "-i", "request.json",
         "-t", "json", "-o", "-"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout) == {"predictions": expected}
    loaded = modelpack.load_model("models:/iris@champion")
    assert np.array_equal(np.asarray(loaded.predict(rows)), np.asarray(expected))
    client.store.dispose()
