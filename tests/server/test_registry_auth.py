"""``--auth`` on the registry, logged-model and artifact routes: grants per registered
model (``users grant --model``), per experiment for artifacts, and a walk of every
registered route as a user with no role and no grant."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from modelpack.server import ServerConfig, build_app
from modelpack.server.app import OPEN_PATHS
from modelpack.server.auth import AuthStore
from modelpack.tracking import Client
from tests.serve_process import serving
from tests.server.tracking_server import RunningServer, log_model_run, server_argv

PROXY = "/api/2.0/mlflow-artifacts/artifacts"
PASSWORD = "guest-password-1"


def _basic(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{PASSWORD}".encode()).decode()}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An --auth server, users admin (MANAGE), guest (NONE) and reader (READ), two models
    with a version each, from runs in two experiments."""
    root = tmp_path_factory.mktemp("registry-auth")
    auth = AuthStore(root / "auth.db")
    for user, role in (("admin", "MANAGE"), ("guest", "NONE"), ("reader", "READ")):
        auth.create_user(user, PASSWORD, role)
    store_uri = f"sqlite:///{root / 'store.db'}"
    runs = {name: log_model_run(store_uri, f"exp-{name}", root) for name in ("shared", "private")}
    client = Client(store_uri)
    for name, run_id in runs.items():
        client.create_registered_model(name)
        client.create_model_version(name, f"{root}/model-exp-{name}", run_id)
    argv = server_argv(store_uri, "--auth", "--auth-db", str(root / "auth.db"))
    with serving(argv, cwd=root) as url:
        yield {"server": RunningServer(url, store_uri, root / "auth.db"), "runs": runs}


def _grant(server: RunningServer, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelpack", "server", "users", "grant", "--auth-db",
         str(server.auth_db), "--username", "guest", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _call(server: RunningServer, method: str, path: str, body: dict[str, Any], user: str) -> int:
    if method == "GET":
        answer = httpx.get(server.api(path), params=body, headers=_basic(user), timeout=30)
    else:
        answer = httpx.request(
            method, server.api(path), json=body, headers=_basic(user), timeout=60
        )
    return answer.status_code


def test_model_grants_open_one_model(world: dict[str, Any]) -> None:
    server: RunningServer = world["server"]
    shared, private = {"name": "shared"}, {"name": "private"}
    assert _call(server, "GET", "/registered-models/get", shared, "guest") == 403
    _grant(server, "--model", "shared", "--permission", "READ")
    assert _call(server, "GET", "/registered-models/get", shared, "guest") == 200
    assert _call(server, "GET", "/model-versions/get", {**shared, "version": "1"}, "guest") == 200
    tag = {**shared, "key": "k", "value": "v"}
    assert _call(server, "POST", "/registered-models/set-tag", tag, "guest") == 403
    _grant(server, "--model", "shared", "--permission", "EDIT")
    assert _call(server, "POST", "/registered-models/set-tag", tag, "guest") == 200
    assert _call(server, "DELETE", "/registered-models/delete", shared, "guest") == 403  # MANAGE
    denied = [
        _call(server, "GET", "/registered-models/get", private, "guest"),
        _call(
            server,
            "POST",
            "/registered-models/set-tag",
            {**private, "key": "k", "value": "v"},
            "guest",
        ),
        _call(server, "GET", "/registered-models/search", {}, "guest"),
        _call(server, "POST", "/registered-models/create", {"name": "guest-made"}, "guest"),
        _call(server, "POST", "/registered-models/rename", {**shared, "new_name": "x"}, "guest"),
        _call(server, "GET", "/registered-models/get", {"name": "no-such-model"}, "guest"),
    ]
    assert denied == [403] * len(denied)
    assert Client(server.store_uri).get_registered_model("private").tags == {}


def test_registering_needs_read_on_the_source(world: dict[str, Any]) -> None:
    server: RunningServer = world["server"]
    _grant(server, "--model", "shared", "--permission", "EDIT")
    body = {"name": "shared", "source": f"runs:/{world['runs']['private']}/model"}
    assert _call(server, "POST", "/model-versions/create", body, "guest") == 403
    own = {"name": "shared", "source": f"runs:/{world['runs']['shared']}/model"}
    assert _call(server, "POST", "/model-versions/create", own, "guest") == 403  # no READ yet
    experiment = Client(server.store_uri).get_run(world["runs"]["shared"]).info.experiment_id
    _grant(server, "--experiment-id", experiment, "--permission", "READ")
    assert _call(server, "POST", "/model-versions/create", own, "guest") == 200
    assert [v.run_id for v in Client(server.store_uri).search_model_versions("name = 'shared'")] == [
        world["runs"]["shared"]] * 2  # fmt: skip


def test_artifacts_follow_experiment_and_model_grants(world: dict[str, Any]) -> None:
    server: RunningServer = world["server"]
    client = Client(server.store_uri)
    run_path = {}
    for name, run_id in world["runs"].items():
        run_path[name] = f"{client.get_run(run_id).info.experiment_id}/{run_id}/artifacts"
    blob = {
        name: Path(client.get_model_version(name, 1).storage_location).name for name in run_path
    }

    def proxy(method: str, path: str, user: str) -> int:
        answer = httpx.request(method, f"{server.url}{PROXY}/{path}", content=b"x" if method == "PUT" else None,
                               headers=_basic(user), timeout=30)  # fmt: skip
        return answer.status_code

    assert proxy("GET", f"{run_path['private']}/model/MLmodel", "guest") == 403
    assert proxy("GET", f"{run_path['private']}/model/MLmodel", "reader") == 200
    assert proxy("PUT", f"{run_path['private']}/new.txt", "reader") == 403
    assert proxy("DELETE", f"{run_path['private']}/model", "reader") == 403
    assert proxy("GET", f"models/blobs/{blob['private']}/MLmodel", "guest") == 403
    _grant(server, "--model", "shared", "--permission", "READ")
    assert proxy("GET", f"models/blobs/{blob['shared']}/MLmodel", "guest") == 200
    assert proxy("GET", f"models/blobs/{blob['private']}/MLmodel", "guest") == 403
    listing = httpx.get(
        f"{server.url}{PROXY}", params={"path": run_path["private"]}, headers=_basic("guest")
    )
    assert listing.status_code == 403
    assert "new.txt" not in client.list_artifacts(world["runs"]["private"])
    assert "model/MLmodel" in client.list_artifacts(world["runs"]["private"])


def test_every_route_tells_a_user_without_grants_nothing(
    world: dict[str, Any], tmp_path: Path
) -> None:
    server: RunningServer = world["server"]
    AuthStore(server.auth_db).create_user("nobody", PASSWORD, "NONE")  # type: ignore[arg-type]
    app = build_app(ServerConfig(backend_store_uri=server.store_uri, auth_db=str(server.auth_db)))
    checked = 0
    run_id = world["runs"]["private"]
    for route in [r for r in app.routes if isinstance(r, Route)]:
        for method in sorted((route.methods or set()) - {"HEAD"}):
            path = route.path.replace("{path:path}", f"1/{run_id}/artifacts/model/MLmodel")
            path = path.replace("{model_id}", "m-" + "0" * 32).replace("{tag_key}", "k")
            body = {"name": "private", "version": "1", "run_id": run_id, "experiment_id": "1",
                    "experiment_ids": ["1"], "source": f"runs:/{run_id}/model", "key": "k"}  # fmt: skip
            if method == "GET":
                answer = httpx.get(
                    server.url + path, params=body, headers=_basic("nobody"), timeout=30
                )
            else:
                answer = httpx.request(method, server.url + path, json=body, headers=_basic("nobody"),
                                       timeout=30)  # fmt: skip
            checked += 1
            if route.path in OPEN_PATHS:
                continue
            assert answer.status_code in (400, 403), (method, route.path, answer.status_code)
            assert set(answer.json()) == {"error_code", "message"}, (method, route.path)
    assert checked >= 50  # every JSON endpoint, the proxy's four, and the probes
