"""``modelpack server --auth``: deny by default, scrypt passwords, SHA-256-stored tokens,
roles per user, and the MLflow client's Basic and Bearer credentials both accepted."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from starlette.routing import Route

from modelpack.server import ServerConfig, build_app
from modelpack.server.app import OPEN_PATHS
from modelpack.tracking import Client
from tests.mlflow_venv import mlflow_python
from tests.serve_process import serving
from tests.server.tracking_server import RunningServer, server_argv

PASSWORDS = {
    "alice": "alice-password-1",
    "reader": "reader-password-1",
    "guest": "guest-password-1",
}


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "modelpack", "server", "users", *args]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str]]:
    """A server with --auth, users alice (EDIT) and reader (READ); yields it and alice's token."""
    root = tmp_path_factory.mktemp("auth-server")
    auth_db = root / "auth.db"
    for name, role in (("alice", "EDIT"), ("reader", "READ"), ("guest", "NONE")):
        args = ("--auth-db", str(auth_db), "--username", name, "--role", role)
        made = _cli("create", *args, "--password-stdin", stdin=PASSWORDS[name] + "\n")
        assert made.returncode == 0, made.stderr
    token = _cli("token", "--auth-db", str(auth_db), "--username", "alice")
    assert token.returncode == 0, token.stderr
    store_uri = f"sqlite:///{root / 'store.db'}"
    argv = server_argv(store_uri, "--auth", "--auth-db", str(auth_db))
    with serving(argv, cwd=root) as url:
        yield RunningServer(url, store_uri, auth_db), token.stdout.strip()


def _basic(user: str, password: str) -> dict[str, str]:
    value = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {value}"}


BAD_CREDENTIALS = {
    "none": {},
    "wrong token": {"Authorization": "Bearer mpk_" + "A" * 43},
    "wrong password": _basic("alice", "not-her-password"),
    "unknown user": _basic("mallory", "whatever-password"),
    "garbage basic": {"Authorization": "Basic !!!not-base64"},
    "other scheme": {"Authorization": "Digest abc"},
}


@pytest.mark.parametrize("credentials", sorted(BAD_CREDENTIALS))
def test_every_route_denies_without_valid_credentials(
    auth_server: tuple[RunningServer, str], credentials: str
) -> None:
    server, _ = auth_server
    app = build_app(ServerConfig(backend_store_uri=server.store_uri, auth_db=str(server.auth_db)))
    routes = [r for r in app.routes if isinstance(r, Route)]
    checked = 0
    for route in routes:
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            answer = httpx.request(
                method,
                server.url + route.path,
                json={},
                headers=BAD_CREDENTIALS[credentials],
                timeout=30,
            )
            checked += 1
            if route.path in OPEN_PATHS:
                assert answer.status_code == 200 and answer.text == "OK"
                continue
            assert answer.status_code == 401, (method, route.path, answer.status_code)
            assert answer.json()["error_code"] == "UNAUTHENTICATED"
    assert checked >= 14


def test_roles_limit_what_a_user_may_do(auth_server: tuple[RunningServer, str]) -> None:
    server, token = auth_server
    bearer = {"Authorization": f"Bearer {token}"}
    created = httpx.post(
        server.api("/experiments/create"), json={"name": "roles"}, headers=bearer, timeout=30
    )
    assert created.status_code == 200
    reader = _basic("reader", PASSWORDS["reader"])
    found = httpx.get(
        server.api("/experiments/get-by-name"),
        params={"experiment_name": "roles"},
        headers=reader,
        timeout=30,
    )
    assert found.status_code == 200
    refused = httpx.post(
        server.api("/experiments/create"), json={"name": "reader-made"}, headers=reader, timeout=30
    )
    assert (refused.status_code, refused.json()["error_code"]) == (403, "PERMISSION_DENIED")
    assert "EDIT" in refused.json()["message"]


def test_secrets_are_stored_hashed(auth_server: tuple[RunningServer, str]) -> None:
    server, token = auth_server
    assert server.auth_db is not None
    dump = "\n".join(sqlite3.connect(server.auth_db).iterdump())
    assert token not in dump and token[4:] not in dump
    assert PASSWORDS["alice"] not in dump
    with sqlite3.connect(server.auth_db) as conn:
        hashes = [row[0] for row in conn.execute("SELECT password_hash FROM users")]
    assert len(hashes) == 3 and all(h.startswith("scrypt$16384$8$1$") for h in hashes)
    assert len(token) >= 4 + 43  # 256 random bits, url-safe base64


def test_user_commands_refuse_bad_input(auth_server: tuple[RunningServer, str]) -> None:
    server, _ = auth_server
    again = _cli(
        "create",
        "--auth-db",
        str(server.auth_db),
        "--username",
        "alice",
        "--password-stdin",
        stdin="another-pass\n",
    )
    assert (
        again.returncode == 1
        and again.stderr.startswith("error: ")
        and "already exists" in again.stderr
    )
    short = _cli(
        "create",
        "--auth-db",
        str(server.auth_db),
        "--username",
        "bob",
        "--password-stdin",
        stdin="short\n",
    )
    assert short.returncode == 1 and "at least 8" in short.stderr
    nobody = _cli("token", "--auth-db", str(server.auth_db), "--username", "nobody")
    assert nobody.returncode == 1 and "no user 'nobody'" in nobody.stderr
    grant = ("grant", "--auth-db", str(server.auth_db), "--permission", "READ")
    no_user = _cli(*grant, "--username", "nobody", "--experiment-id", "1")
    assert no_user.returncode == 1 and "no user 'nobody'" in no_user.stderr
    bad_id = _cli(*grant, "--username", "alice", "--experiment-id", "1; DROP")
    assert bad_id.returncode == 1 and "experiment id must be" in bad_id.stderr


CLIENT_SCRIPT = r"""
import sys
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment(sys.argv[2])
with mlflow.start_run():
    mlflow.log_metric("m", 1.5, step=3)
print("logged")
"""


@pytest.mark.parametrize("scheme", ["basic", "bearer", "none"])
def test_mlflow_client_authenticates_with_basic_and_bearer(
    auth_server: tuple[RunningServer, str], scheme: str
) -> None:
    server, token = auth_server
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
    if scheme == "basic":
        env |= {"MLFLOW_TRACKING_USERNAME": "alice", "MLFLOW_TRACKING_PASSWORD": PASSWORDS["alice"]}
    elif scheme == "bearer":
        env["MLFLOW_TRACKING_TOKEN"] = token
    done = subprocess.run(
        [mlflow_python(), "-c", CLIENT_SCRIPT, server.url, f"via-{scheme}"],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    experiment = Client(server.store_uri).get_experiment_by_name(f"via-{scheme}")
    if scheme == "none":
        assert done.returncode != 0 and "UNAUTHENTICATED" in done.stderr
        assert experiment is None
        return
    assert done.returncode == 0, done.stderr[-3000:]
    assert experiment is not None
    (run,) = Client(server.store_uri).search_runs([experiment.experiment_id])
    assert run.data.metrics == {"m": 1.5}


def test_grants_open_one_experiment_to_a_user_with_no_role(
    auth_server: tuple[RunningServer, str],
) -> None:
    server, token = auth_server
    alice = {"Authorization": f"Bearer {token}"}
    guest = _basic("guest", PASSWORDS["guest"])

    def post(path: str, body: dict[str, object], headers: dict[str, str]) -> httpx.Response:
        return httpx.post(server.api(path), json=body, headers=headers, timeout=30)

    def get(path: str, headers: dict[str, str], **params: str) -> httpx.Response:
        return httpx.get(server.api(path), params=params, headers=headers, timeout=30)

    shared = post("/experiments/create", {"name": "shared"}, alice).json()["experiment_id"]
    private = post("/experiments/create", {"name": "private"}, alice).json()["experiment_id"]
    private_run = post("/runs/create", {"experiment_id": private}, alice).json()["run"]["info"][
        "run_id"
    ]
    assert get("/experiments/get", guest, experiment_id=shared).status_code == 403

    granted = _cli("grant", "--auth-db", str(server.auth_db), "--username", "guest",
                   "--experiment-id", shared, "--permission", "EDIT")  # fmt: skip
    assert granted.returncode == 0, granted.stderr
    assert get("/experiments/get", guest, experiment_id=shared).status_code == 200
    assert get("/experiments/get-by-name", guest, experiment_name="shared").status_code == 200
    run = post("/runs/create", {"experiment_id": shared}, guest)
    assert run.status_code == 200
    run_id = run.json()["run"]["info"]["run_id"]
    logged = post(
        "/runs/log-metric", {"run_id": run_id, "key": "m", "value": 1, "timestamp": 1}, guest
    )
    assert logged.status_code == 200

    # nothing else opened: the other experiment, its run, searches, new experiments
    denied = [
        get("/experiments/get", guest, experiment_id=private),
        get("/experiments/get-by-name", guest, experiment_name="private"),
        get("/runs/get", guest, run_id=private_run),
        post("/runs/set-tag", {"run_id": private_run, "key": "k", "value": "v"}, guest),
        post("/runs/search", {"experiment_ids": [shared]}, guest),
        post("/experiments/search", {}, guest),
        post("/experiments/create", {"name": "guest-made"}, guest),
        # an unknown run is refused like a forbidden one: no probing for ids
        get("/runs/get", guest, run_id="0" * 32),
    ]
    assert [d.status_code for d in denied] == [403] * len(denied)
    assert Client(server.store_uri).get_run(private_run).data.tags.get("k") is None

    # a grant raises a role, never lowers it: READ on a shared experiment for reader
    _cli("grant", "--auth-db", str(server.auth_db), "--username", "reader",
         "--experiment-id", shared, "--permission", "READ")  # fmt: skip
    reader = _basic("reader", PASSWORDS["reader"])
    assert get("/runs/get", reader, run_id=private_run).status_code == 200
