"""The UI at / of ``modelpack server --auth``: login page, sessions, the API's own roles
and grants on every page and action, and the API beside it unchanged."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelpack import Client
from modelpack.server.auth import AuthStore
from tests.serve_process import serving
from tests.ui.seed import Seeded

PASSWORDS = {"alice": "alice-password", "bob": "bob-password", "carol": "carol-password"}


@dataclass(frozen=True)
class AuthServer:
    url: str
    seeded: Seeded


@pytest.fixture(scope="module")
def auth_server(seeded_root: tuple[Path, Seeded]) -> Iterator[AuthServer]:
    root, seeded = seeded_root
    auth_db = root / "ui-auth.db"
    users = AuthStore(auth_db)
    users.create_user("alice", PASSWORDS["alice"], "EDIT")  # may change the registry
    users.create_user("bob", PASSWORDS["bob"], "NONE")
    users.grant("bob", seeded.experiment_id, "READ")  # may read one experiment
    users.create_user("carol", PASSWORDS["carol"], "NONE")  # may read nothing
    argv = [sys.executable, "-m", "modelpack", "server", "--backend-store-uri", seeded.store_uri,
            "--host", "127.0.0.1", "--port", "0", "--auth", "--auth-db", str(auth_db)]  # fmt: skip
    with serving(argv, cwd=root) as url:
        yield AuthServer(url, seeded)


def _csrf(http: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', http.get(path).text)
    assert found is not None
    return found.group(1)


def _signed_in(server: AuthServer, user: str) -> httpx.Client:
    http = httpx.Client(base_url=server.url, timeout=30)
    token = _csrf(http, "/login")
    answer = http.post(
        "/login",
        data={"csrf_token": token, "username": user, "password": PASSWORDS[user], "next": "/"},
    )
    assert answer.status_code == 303, answer.text
    return http


def test_pages_need_a_session(auth_server: AuthServer) -> None:
    eid = auth_server.seeded.experiment_id
    answer = httpx.get(f"{auth_server.url}/experiments/{eid}?filter=x")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next=/experiments/{eid}%3Ffilter%3Dx"
    posted = httpx.post(f"{auth_server.url}/models/iris/versions/1/alias", data={"alias": "x"})
    assert posted.status_code == 401
    assert httpx.get(f"{auth_server.url}/static/ui.css").status_code == 200


def test_login_sets_a_safe_session_cookie(auth_server: AuthServer) -> None:
    http = httpx.Client(base_url=auth_server.url, timeout=30)
    token = _csrf(http, "/login")
    answer = http.post("/login", data={"csrf_token": token, "username": "alice",
                                       "password": PASSWORDS["alice"], "next": "//evil.example/x"})  # fmt: skip
    assert answer.status_code == 303 and answer.headers["location"] == "/"  # never off-site
    cookie = answer.headers["set-cookie"].lower()
    assert "mp_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "ui-demo" in http.get("/").text
    http.post("/logout", data={"csrf_token": token})
    assert http.get("/").status_code == 303  # the session is gone


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "alice", "password": "HOSTILE-wrong-password"},
        {"username": "HOSTILE-nobody", "password": "whatever-password"},
    ],
)
def test_wrong_credentials_are_refused_without_echo(
    auth_server: AuthServer, fields: dict[str, str]
) -> None:
    http = httpx.Client(base_url=auth_server.url, timeout=30)
    answer = http.post("/login", data={"csrf_token": _csrf(http, "/login"), **fields})
    assert answer.status_code == 401 and "Wrong username or password" in answer.text
    assert "HOSTILE" not in answer.text and "mp_session" not in answer.headers.get("set-cookie", "")


def test_login_without_the_csrf_token_is_refused(auth_server: AuthServer) -> None:
    answer = httpx.post(
        f"{auth_server.url}/login", data={"username": "alice", "password": PASSWORDS["alice"]}
    )
    assert answer.status_code == 403 and "mp_session" not in answer.headers.get("set-cookie", "")


def test_a_user_without_a_grant_is_refused_the_experiment(auth_server: AuthServer) -> None:
    eid = auth_server.seeded.experiment_id
    carol = _signed_in(auth_server, "carol")
    assert "ui-demo" not in carol.get("/").text
    for path in (f"/experiments/{eid}", f"/runs/{auth_server.seeded.run_ids[0]}", "/models"):
        answer = carol.get(path)
        assert answer.status_code == 403 and "permission" in answer.text
    series = carol.get(f"/runs/{auth_server.seeded.long_run_id}/series", params={"key": "curve"})
    assert series.status_code == 403


def test_a_grant_opens_one_experiment_but_not_registry_writes(auth_server: AuthServer) -> None:
    eid = auth_server.seeded.experiment_id
    bob = _signed_in(auth_server, "bob")
    assert bob.get(f"/experiments/{eid}").status_code == 200
    assert bob.get(f"/runs/{auth_server.seeded.run_ids[0]}").status_code == 200
    token = _csrf(bob, f"/experiments/{eid}")
    refused = bob.post("/models/iris/versions/1/alias", data={"csrf_token": token, "alias": "bobs"})
    assert refused.status_code == 403
    assert "bobs" not in Client(auth_server.seeded.store_uri).get_registered_model("iris").aliases


def test_an_editor_sets_an_alias(auth_server: AuthServer) -> None:
    alice = _signed_in(auth_server, "alice")
    token = _csrf(alice, "/models/iris/versions/1")
    done = alice.post(
        "/models/iris/versions/1/alias", data={"csrf_token": token, "alias": "alices"}
    )
    assert done.status_code == 303
    assert (
        Client(auth_server.seeded.store_uri).get_model_version_by_alias("iris", "alices").version
        == 1
    )


def test_the_api_beside_the_ui_is_unchanged(auth_server: AuthServer) -> None:
    api = f"{auth_server.url}/api/2.0/mlflow"
    assert httpx.get(f"{api}/experiments/search").status_code == 401
    missing = httpx.get(f"{api}/no/such/endpoint")
    assert missing.status_code == 404 and missing.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert httpx.get(f"{auth_server.url}/health").status_code == 200


def test_log_in_in_a_browser_and_be_refused_without_a_grant(
    page: Any, auth_server: AuthServer
) -> None:
    eid = auth_server.seeded.experiment_id
    page.goto(f"{auth_server.url}/experiments/{eid}")
    page.wait_for_url("**/login?next=**")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill(PASSWORDS["carol"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/experiments/{eid}")
    assert "needs READ permission" in page.get_by_role("alert").inner_text()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")


def test_a_session_holds_on_every_worker_and_across_a_restart(
    seeded_root: tuple[Path, Seeded], tmp_path: Path
) -> None:
    # sessions live in the auth file: with --workers 2 each fresh connection may land on
    # either process, and a restarted server still knows who signed in
    root, seeded = seeded_root
    auth_db = tmp_path / "workers-auth.db"
    AuthStore(auth_db).create_user("alice", PASSWORDS["alice"], "EDIT")
    argv = [sys.executable, "-m", "modelpack", "server", "--backend-store-uri", seeded.store_uri,
            "--host", "127.0.0.1", "--port", "0", "--auth", "--auth-db", str(auth_db),
            "--workers", "2"]  # fmt: skip
    with serving(argv, cwd=root) as url:
        alice = _signed_in(AuthServer(url, seeded), "alice")
        cookie = alice.cookies["mp_session"]
        for _ in range(40):  # a new connection each time, so the kernel picks a worker
            with httpx.Client(base_url=url, cookies={"mp_session": cookie}, timeout=30) as fresh:
                answer = fresh.get("/")
                assert answer.status_code == 200 and "ui-demo" in answer.text
    with serving(argv, cwd=root) as url:
        answer = httpx.get(f"{url}/", cookies={"mp_session": cookie}, timeout=30)
        assert answer.status_code == 200 and "ui-demo" in answer.text
        # signing out ends it for every worker
        with httpx.Client(base_url=url, cookies={"mp_session": cookie}, timeout=30) as http:
            token = _csrf(http, "/")
            http.post("/logout", data={"csrf_token": token})
        for _ in range(6):
            gone = httpx.get(f"{url}/", cookies={"mp_session": cookie}, timeout=30)
            assert gone.status_code == 303
