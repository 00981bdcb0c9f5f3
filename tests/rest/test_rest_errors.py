"""What a user sees when the tracking server is down, wants credentials, or refuses them:
typed errors with a hint, naming host:port, never the password or token."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import modelpack
from modelpack.errors import InvalidURI, PermissionDenied, StoreError, Unauthenticated
from modelpack.tracking import Client, config
from tests.rest.servers import free_port
from tests.serve_process import serving
from tests.server.tracking_server import server_argv

PASSWORD = "pa55-w0rd-secret"
READER_PASSWORD = "reader-secret-77"


def _users(auth_db: Path, *args: str, stdin: str = "") -> str:
    argv = [sys.executable, "-m", "modelpack", "server", "users", *args, "--auth-db", str(auth_db)]
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``modelpack server --auth`` with users alice (EDIT) and reader (READ); (url, token)."""
    root = tmp_path_factory.mktemp("auth-server")
    auth_db = root / "auth.db"
    for name, role, password in (("alice", "EDIT", PASSWORD), ("reader", "READ", READER_PASSWORD)):
        _users(auth_db, "create", "--username", name, "--role", role, "--password-stdin",
               stdin=password + "\n")  # fmt: skip
    token = _users(auth_db, "token", "--username", "alice")
    argv = server_argv(f"sqlite:///{root / 'store.db'}", "--auth", "--auth-db", str(auth_db))
    with serving(argv, cwd=root) as url:
        yield url, token


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    for name in ("TRACKING_TOKEN", "TRACKING_USERNAME", "TRACKING_PASSWORD", "TRACKING_URI"):
        monkeypatch.delenv(f"MODELPACK_{name}", raising=False)
        monkeypatch.delenv(f"MLFLOW_{name}", raising=False)
    monkeypatch.setenv("MODELPACK_CACHE_DIR", str(tmp_path / "cache"))
    config.reset_tracking_uri()
    yield monkeypatch
    config.reset_tracking_uri()


def test_server_down_is_a_store_error_naming_host_and_port_only(
    clean_env: pytest.MonkeyPatch,
) -> None:
    port = free_port()  # nothing listens there
    client = Client(f"http://alice:{PASSWORD}@127.0.0.1:{port}")
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        client.get_experiment("0")
    assert time.monotonic() - started < 30  # a few quick retries, then the error
    message = caught.value.message
    assert f"127.0.0.1:{port}" in message and "running" in message
    assert PASSWORD not in message and "alice" not in message
    assert PASSWORD not in repr(client) and PASSWORD not in repr(client.backend)


def test_a_malformed_server_uri_is_refused_when_set(clean_env: pytest.MonkeyPatch) -> None:
    for bad in ("http://", "http://host:notaport", "http://h:1/?q=1", "http://a b"):
        with pytest.raises(InvalidURI):
            modelpack.set_tracking_uri(bad)


def test_missing_and_wrong_credentials_are_unauthenticated_with_a_hint(
    auth_server: tuple[str, str], clean_env: pytest.MonkeyPatch
) -> None:
    url, _ = auth_server
    with pytest.raises(Unauthenticated) as caught:
        Client(url).search_experiments()
    assert "MODELPACK_TRACKING_TOKEN" in caught.value.message
    assert url.split("//")[1] in caught.value.message
    clean_env.setenv("MODELPACK_TRACKING_USERNAME", "alice")
    clean_env.setenv("MODELPACK_TRACKING_PASSWORD", "not-" + PASSWORD)
    with pytest.raises(Unauthenticated) as wrong:
        Client(url).search_experiments()
    assert PASSWORD not in wrong.value.message


@pytest.mark.parametrize("how", ["token", "mlflow token", "basic", "uri userinfo"])
def test_every_credential_source_is_accepted(
    auth_server: tuple[str, str], clean_env: pytest.MonkeyPatch, how: str
) -> None:
    url, token = auth_server
    uri = url
    if how == "token":
        clean_env.setenv("MODELPACK_TRACKING_TOKEN", token)
    elif how == "mlflow token":
        clean_env.setenv("MLFLOW_TRACKING_TOKEN", token)
    elif how == "basic":
        clean_env.setenv("MLFLOW_TRACKING_USERNAME", "alice")
        clean_env.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORD)
    else:
        uri = url.replace("http://", f"http://alice:{PASSWORD}@")
    clean_env.setenv("MODELPACK_TRACKING_URI", uri)
    with modelpack.start_run() as run:
        modelpack.log_metric("m", 1.0)
    assert Client(uri).get_run(run.info.run_id).data.metrics == {"m": 1.0}
    assert PASSWORD not in repr(Client(uri)) and token not in repr(Client(uri))


def test_a_user_without_the_grant_gets_permission_denied(
    auth_server: tuple[str, str], clean_env: pytest.MonkeyPatch
) -> None:
    url, _ = auth_server
    clean_env.setenv("MODELPACK_TRACKING_USERNAME", "reader")
    clean_env.setenv("MODELPACK_TRACKING_PASSWORD", READER_PASSWORD)
    client = Client(url)
    assert client.get_experiment("0").experiment_id == "0"  # READ is enough to read
    with pytest.raises(PermissionDenied) as caught:
        client.create_experiment("reader-made")
    assert "grant" in caught.value.message and READER_PASSWORD not in caught.value.message


def test_the_http_client_is_imported_only_when_a_server_is_used() -> None:
    code = (
        "import sys, modelpack, modelpack.tracking\n"
        "modelpack.set_tracking_uri('http://127.0.0.1:1')\n"
        "print('httpx' in sys.modules)\n"
        "modelpack.Client()\n"
        "print('httpx' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
