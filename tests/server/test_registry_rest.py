"""MLflow's model registry REST API on a real ``modelpack server``: each route over HTTP,
writes checked through modelpack's own Client on the same store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from modelpack.tracking import Client
from tests.server.tracking_server import RunningServer, log_model_run


def _call(server: RunningServer, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    if method == "GET":
        return httpx.get(server.api(path), params=body, timeout=30)
    return httpx.request(method, server.api(path), json=body, timeout=60)


@pytest.fixture(scope="module")
def model_run(tracking_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    return log_model_run(tracking_server.store_uri, "registry", tmp_path_factory.mktemp("m"))


def test_registered_model_lifecycle(tracking_server: RunningServer) -> None:
    s = tracking_server
    made = _call(s, "POST", "/registered-models/create",
                 {"name": "life", "tags": [{"key": "team", "value": "a"}], "description": "d"})  # fmt: skip
    assert made.status_code == 200, made.text
    assert made.json()["registered_model"]["name"] == "life"
    again = _call(s, "POST", "/registered-models/create", {"name": "life"})
    assert (again.status_code, again.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")

    got = _call(s, "GET", "/registered-models/get", {"name": "life"}).json()["registered_model"]
    assert got["description"] == "d" and got["tags"] == [{"key": "team", "value": "a"}]
    updated = _call(s, "PATCH", "/registered-models/update", {"name": "life", "description": "e"})
    assert updated.json()["registered_model"]["description"] == "e"
    assert _call(s, "POST", "/registered-models/set-tag",
                 {"name": "life", "key": "k", "value": "v"}).status_code == 200  # fmt: skip
    assert _call(s, "DELETE", "/registered-models/delete-tag",
                 {"name": "life", "key": "team"}).status_code == 200  # fmt: skip
    assert Client(s.store_uri).get_registered_model("life").tags == {"k": "v"}

    renamed = _call(s, "POST", "/registered-models/rename", {"name": "life", "new_name": "life2"})
    assert renamed.json()["registered_model"]["name"] == "life2"
    found = _call(s, "GET", "/registered-models/search", {"filter": "name LIKE 'life%'"}).json()
    assert [m["name"] for m in found["registered_models"]] == ["life2"]
    assert _call(s, "DELETE", "/registered-models/delete", {"name": "life2"}).status_code == 200
    gone = _call(s, "GET", "/registered-models/get", {"name": "life2"})
    assert (gone.status_code, gone.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_versions_stages_aliases_and_tags(tracking_server: RunningServer, model_run: str) -> None:
    s, name = tracking_server, "iris-rest"
    _call(s, "POST", "/registered-models/create", {"name": name})
    made = _call(s, "POST", "/model-versions/create",
                 {"name": name, "source": f"runs:/{model_run}/model", "run_id": model_run,
                  "tags": [{"key": "t", "value": "1"}]})  # fmt: skip
    assert made.status_code == 200, made.text
    version = made.json()["model_version"]
    assert (version["version"], version["status"], version["run_id"]) == ("1", "READY", model_run)
    second = _call(s, "POST", "/model-versions/create",
                   {"name": name, "source": f"runs:/{model_run}/model"})  # fmt: skip
    assert second.json()["model_version"]["version"] == "2"

    moved = _call(s, "POST", "/model-versions/transition-stage",
                  {"name": name, "version": "1", "stage": "production",
                   "archive_existing_versions": True})  # fmt: skip
    assert moved.json()["model_version"]["current_stage"] == "Production"
    for method in ("GET", "POST"):
        body: dict[str, Any] = {"name": name, "stages": ["Production"]}
        latest = _call(s, method, "/registered-models/get-latest-versions", body).json()
        assert [v["version"] for v in latest["model_versions"]] == ["1"]
    every = _call(s, "POST", "/registered-models/get-latest-versions", {"name": name}).json()
    assert sorted(v["version"] for v in every["model_versions"]) == ["1", "2"]

    assert _call(s, "POST", "/registered-models/alias",
                 {"name": name, "alias": "champion", "version": "2"}).status_code == 200  # fmt: skip
    by_alias = _call(s, "GET", "/registered-models/alias", {"name": name, "alias": "champion"})
    assert by_alias.json()["model_version"]["version"] == "2"
    assert by_alias.json()["model_version"]["aliases"] == ["champion"]
    model = _call(s, "GET", "/registered-models/get", {"name": name}).json()["registered_model"]
    assert model["aliases"] == [{"alias": "champion", "version": "2"}]

    _call(
        s,
        "POST",
        "/model-versions/set-tag",
        {"name": name, "version": "2", "key": "k", "value": "v"},
    )
    _call(s, "DELETE", "/model-versions/delete-tag", {"name": name, "version": "1", "key": "t"})
    _call(
        s, "PATCH", "/model-versions/update", {"name": name, "version": "2", "description": "new"}
    )
    client = Client(s.store_uri)
    assert client.get_model_version(name, 2).tags == {"k": "v"}
    assert client.get_model_version(name, 2).description == "new"
    assert client.get_model_version(name, 1).tags == {}
    assert client.get_model_version_by_alias(name, "champion").version == 2

    uri = _call(s, "GET", "/model-versions/get-download-uri", {"name": name, "version": "1"})
    digest = Path(client.get_model_version(name, 1).storage_location).name
    assert uri.json() == {"artifact_uri": f"mlflow-artifacts:/models/blobs/{digest}"}
    searched = _call(s, "GET", "/model-versions/search", {"filter": f"name = '{name}'"}).json()
    assert [v["version"] for v in searched["model_versions"]] == ["1", "2"]

    assert _call(s, "DELETE", "/registered-models/alias",
                 {"name": name, "alias": "champion"}).status_code == 200  # fmt: skip
    assert _call(s, "GET", "/registered-models/alias",
                 {"name": name, "alias": "champion"}).status_code == 404  # fmt: skip
    assert (
        _call(s, "DELETE", "/model-versions/delete", {"name": name, "version": "2"}).status_code
        == 200
    )
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == [1]


@pytest.mark.parametrize(
    "source",
    ["/etc", "file:///etc", "s3://bucket/model", "runs:/not-a-run/model", "models:/m-nothing",
     "mlflow-artifacts:/../../etc", "mlflow-artifacts:/.staging/x", "http://127.0.0.1:1/model",
     "runs:/" + "0" * 32 + "/model"],
)  # fmt: skip
def test_a_version_comes_only_from_this_store(tracking_server: RunningServer, source: str) -> None:
    s = tracking_server
    _call(s, "POST", "/registered-models/create", {"name": "sourced"})
    answer = _call(s, "POST", "/model-versions/create", {"name": "sourced", "source": source})
    assert answer.status_code in (400, 404) and answer.json()["error_code"] in (
        "INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST",
    )  # fmt: skip
    assert source not in answer.text
    assert Client(s.store_uri).search_model_versions("name = 'sourced'") == []


def test_registry_errors_are_4xx_without_echo(tracking_server: RunningServer) -> None:
    s, canary = tracking_server, "Zq9canaryVALUE"
    answers = [
        _call(s, "GET", "/registered-models/get", {"name": canary}),
        _call(s, "GET", "/model-versions/get", {"name": canary, "version": "1"}),
        _call(
            s,
            "POST",
            "/model-versions/transition-stage",
            {"name": canary, "version": "1", "stage": canary},
        ),  # fmt: skip
        _call(s, "POST", "/registered-models/create", {"name": canary + "/x"}),
        _call(
            s, "POST", "/registered-models/alias", {"name": canary, "alias": "v1", "version": "1"}
        ),
        _call(s, "GET", "/registered-models/search", {"filter": f"bogus = '{canary}'"}),
        _call(s, "GET", "/model-versions/get", {"name": "x", "version": canary}),
    ]
    assert [a.status_code for a in answers] == [404, 404, 400, 400, 400, 400, 400]
    for answer in answers:
        assert canary not in answer.text and answer.json()["error_code"]
