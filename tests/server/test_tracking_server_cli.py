"""``modelpack server`` as a user types it: the URL it prints, and clear refusals."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.server.tracking_server import RunningServer, server_argv


def test_prints_the_url_it_listens_on(tracking_server: RunningServer) -> None:
    assert tracking_server.url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{tracking_server.url}/health", timeout=30).status_code == 200


def test_port_in_use_exits_1_with_an_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        argv = server_argv(f"sqlite:///{tmp_path / 's.db'}")
        argv[argv.index("--port") + 1] = port
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and f"port {port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_auth_without_auth_db_is_a_usage_error(tmp_path: Path) -> None:
    argv = [*server_argv(f"sqlite:///{tmp_path / 's.db'}"), "--auth"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "--auth-db" in done.stderr


def test_server_command_is_listed() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelpack", "--help"], capture_output=True, text=True
    )
    assert "Run a tracking server speaking MLflow" in done.stdout


def test_an_unsupported_artifacts_destination_exits_1_naming_the_schemes(tmp_path: Path) -> None:
    argv = [*server_argv(f"sqlite:///{tmp_path / 's.db'}"), "--artifacts-destination", "gs://b/x"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stderr.startswith("error: ")
    assert "s3://" in done.stderr and "Traceback" not in done.stderr
    assert not list(tmp_path.glob("gs*"))  # no local folder named after the URI


def test_artifacts_go_to_the_artifacts_destination(tmp_path: Path) -> None:
    from tests.serve_process import serving

    destination = tmp_path / "elsewhere"
    argv = [*server_argv(f"sqlite:///{tmp_path / 's.db'}"), "--artifacts-destination",
            str(destination)]  # fmt: skip
    with serving(argv, cwd=tmp_path) as url:
        api = f"{url}/api/2.0/mlflow"
        experiment = httpx.post(f"{api}/experiments/create", json={"name": "e"}, timeout=30)
        experiment_id = experiment.json()["experiment_id"]
        run = httpx.post(f"{api}/runs/create", json={"experiment_id": experiment_id}, timeout=30)
        run_id = run.json()["run"]["info"]["run_id"]
        path = f"{experiment_id}/{run_id}/artifacts/notes.txt"
        put = httpx.put(f"{url}/api/2.0/mlflow-artifacts/artifacts/{path}", content=b"hi")
        assert put.status_code == 200, put.text
    assert (destination / path).read_bytes() == b"hi"
