"""Helpers for the tracking server tests: its command line and a handle on a running one."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

API = "/api/2.0/mlflow"


@dataclass(frozen=True)
class RunningServer:
    """A started server: its base URL and the store (and auth file) behind it."""

    url: str
    store_uri: str
    auth_db: Path | None = None

    def api(self, path: str) -> str:
        """The full URL of a REST path such as ``/runs/create``."""
        return f"{self.url}{API}{path}"


def server_argv(store_uri: str, *extra: str) -> list[str]:
    """The command line of a tracking server on a free 127.0.0.1 port."""
    return [sys.executable, "-m", "modelpack", "server", "--backend-store-uri", store_uri,
            "--host", "127.0.0.1", "--port", "0", *extra]  # fmt: skip


def log_model_run(store_uri: str, experiment: str, tmp_dir: Path) -> str:
    """A run (in a new experiment) holding a real scikit-learn model under ``model``,
    logged with modelpack's own Client straight into the server's store."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import modelpack
    from modelpack.tracking import Client

    X, y = load_iris(return_X_y=True, as_frame=True)
    model_dir = tmp_dir / f"model-{experiment}"
    modelpack.sklearn.save_model(LogisticRegression(max_iter=300).fit(X, y), model_dir)
    client = Client(store_uri)
    run_id = client.create_run(client.create_experiment(experiment)).info.run_id
    client.log_artifacts(run_id, model_dir, "model")
    return run_id
