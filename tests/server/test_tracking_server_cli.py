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
