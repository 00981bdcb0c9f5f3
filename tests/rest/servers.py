"""Tracking servers for the REST client tests: a real ``mlflow server`` from the cached
MLflow venv and a real ``modelpack server``, each on a free 127.0.0.1 port.

Which server a test runs against depends on what it needs (``@pytest.mark.needs(...)``):
``SUPPORTS`` says what each server offers: both serve the whole API modelpack's client
uses, so every test here runs against both — the client speaks MLflow's wire, and
``modelpack server`` answers it as MLflow does.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

SUPPORTS: dict[str, frozenset[str]] = {
    "mlflow": frozenset({"tracking", "registry", "artifacts"}),
    "modelpack": frozenset({"tracking", "registry", "artifacts"}),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def mlflow_server(root: Path) -> Iterator[str]:
    """``mlflow server`` with proxied artifacts on a fresh SQLite store under ``root``."""
    from tests.mlflow_venv import mlflow_python

    port = free_port()
    argv = [
        mlflow_python(), "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "artifacts"), "--serve-artifacts",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log_path = root / "mlflow-server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MODELPACK_"))}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv, cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited:\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server not ready:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        # its own process group (uvicorn workers): stop exactly the processes it started
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
