"""MLflow's tracking REST API on a real ``modelpack server``: what each route answers,
checked over HTTP and, for writes, through modelpack's own Client on the same store."""

from __future__ import annotations

import time
from typing import Any

import httpx

from modelpack.tracking import Client
from tests.server.tracking_server import RunningServer


def _post(server: RunningServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(server.api(path), json=body, timeout=30)


def _get(server: RunningServer, path: str, **params: Any) -> httpx.Response:
    return httpx.get(server.api(path), params=params, timeout=30)


def _new_run(server: RunningServer, experiment: str) -> str:
    experiment_id = _post(server, "/experiments/create", {"name": experiment}).json()
    answer = _post(
        server,
        "/runs/create",
        {"experiment_id": experiment_id["experiment_id"], "run_name": "r", "start_time": 1},
    )
    assert answer.status_code == 200, answer.text
    run_id: str = answer.json()["run"]["info"]["run_id"]
    return run_id


def test_experiments_create_get_by_id_and_name_and_search(tracking_server: RunningServer) -> None:
    created = _post(
        tracking_server,
        "/experiments/create",
        {"name": "rest-exp", "tags": [{"key": "team", "value": "a"}]},
    )
    assert created.status_code == 200
    experiment_id = created.json()["experiment_id"]

    by_id = _get(tracking_server, "/experiments/get", experiment_id=experiment_id).json()
    by_name = _get(tracking_server, "/experiments/get-by-name", experiment_name="rest-exp").json()
    assert by_id == by_name
    assert by_id["experiment"]["name"] == "rest-exp"
    assert by_id["experiment"]["lifecycle_stage"] == "active"
    assert by_id["experiment"]["tags"] == [{"key": "team", "value": "a"}]

    found = _post(tracking_server, "/experiments/search", {"max_results": 1000}).json()
    assert "rest-exp" in [e["name"] for e in found["experiments"]]
    assert Client(tracking_server.store_uri).get_experiment(experiment_id).tags == {"team": "a"}


def test_experiment_errors_use_mlflow_codes(tracking_server: RunningServer) -> None:
    _post(tracking_server, "/experiments/create", {"name": "taken"})
    again = _post(tracking_server, "/experiments/create", {"name": "taken"})
    assert (again.status_code, again.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    missing = _get(tracking_server, "/experiments/get-by-name", experiment_name="nope")
    assert (missing.status_code, missing.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    missing_id = _get(tracking_server, "/experiments/get", experiment_id="98765")
    assert missing_id.status_code == 404
    no_name = _post(tracking_server, "/experiments/create", {})
    assert (no_name.status_code, no_name.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "'name'" in no_name.json()["message"]


def test_experiment_search_pages(tracking_server: RunningServer) -> None:
    for i in range(3):
        _post(tracking_server, "/experiments/create", {"name": f"paged-{i}"})
    seen: list[str] = []
    token = None
    for _ in range(100):
        body: dict[str, Any] = {"max_results": 2}
        if token:
            body["page_token"] = token
        page = _post(tracking_server, "/experiments/search", body).json()
        assert len(page["experiments"]) <= 2
        seen += [e["name"] for e in page["experiments"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert {"paged-0", "paged-1", "paged-2"} <= set(seen)
    assert len(seen) == len(set(seen))


def test_experiment_search_without_an_order_is_newest_first(
    tracking_server: RunningServer,
) -> None:
    # MLflow's client sends no order_by unless asked; its server answers newest first
    for name in ("unordered-1", "unordered-2", "unordered-3"):
        assert _post(tracking_server, "/experiments/create", {"name": name}).status_code == 200
        time.sleep(0.005)  # distinct creation times (milliseconds)
    body = {"filter": "name LIKE 'unordered-%'", "max_results": 10}
    found = _post(tracking_server, "/experiments/search", body).json()["experiments"]
    assert [e["name"] for e in found] == ["unordered-3", "unordered-2", "unordered-1"]


def test_experiment_search_takes_a_filter(tracking_server: RunningServer) -> None:
    # what mlflow.search_experiments(filter_string=...) sends to the server
    for name, team in (("filtered-a", "x"), ("filtered-b", "y"), ("other-c", "x")):
        body = {"name": name, "tags": [{"key": "team", "value": team}]}
        assert _post(tracking_server, "/experiments/create", body).status_code == 200
    body = {"filter": "name LIKE 'filtered-%' AND tags.team = 'x'", "max_results": 10}
    found = _post(tracking_server, "/experiments/search", body)
    assert found.status_code == 200, found.text
    assert [e["name"] for e in found.json()["experiments"]] == ["filtered-a"]
    bad = _post(tracking_server, "/experiments/search", {"filter": "params.HOSTILE = 'x'"})
    assert (bad.status_code, bad.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "HOSTILE" not in bad.text


def test_run_lifecycle_and_logging(tracking_server: RunningServer) -> None:
    run_id = _new_run(tracking_server, "lifecycle")
    assert (
        _post(
            tracking_server,
            "/runs/log-parameter",
            {"run_id": run_id, "key": "alpha", "value": "0.5"},
        ).json()
        == {}
    )
    for step, value in enumerate([0.9, 0.5, 0.25]):
        logged = _post(
            tracking_server,
            "/runs/log-metric",
            {
                "run_id": run_id,
                "key": "loss",
                "value": value,
                "timestamp": 1000 + step,
                "step": step,
            },
        )
        assert logged.status_code == 200, logged.text
    _post(tracking_server, "/runs/set-tag", {"run_uuid": run_id, "key": "stage", "value": "dev"})
    batch = {
        "run_id": run_id,
        "metrics": [{"key": "acc", "value": "NaN", "timestamp": 5, "step": 1}],
        "params": [{"key": "depth", "value": "3"}],
        "tags": [{"key": "owner", "value": "x"}],
    }
    assert _post(tracking_server, "/runs/log-batch", batch).status_code == 200

    run = _get(tracking_server, "/runs/get", run_id=run_id).json()["run"]
    assert run["info"]["status"] == "RUNNING"
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"alpha": "0.5", "depth": "3"}
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["stage"] == "dev" and tags["owner"] == "x"

    history = _get(tracking_server, "/metrics/get-history", run_id=run_id, metric_key="loss").json()
    assert [(m["step"], m["value"]) for m in history["metrics"]] == [(0, 0.9), (1, 0.5), (2, 0.25)]
    nan = _get(tracking_server, "/metrics/get-history", run_id=run_id, metric_key="acc").json()
    assert nan["metrics"][0]["value"] == "NaN"

    ended = _post(
        tracking_server, "/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 99}
    )
    assert ended.json()["run_info"]["status"] == "FINISHED"
    stored = Client(tracking_server.store_uri).get_run(run_id)
    assert stored.info.status == "FINISHED" and stored.info.end_time == 99
    assert stored.data.metrics["loss"] == 0.25
    assert [
        m.value for m in Client(tracking_server.store_uri).get_metric_history(run_id, "loss")
    ] == [0.9, 0.5, 0.25]


def test_search_runs_filters_orders_and_pages(tracking_server: RunningServer) -> None:
    experiment_id = _post(tracking_server, "/experiments/create", {"name": "searched"}).json()[
        "experiment_id"
    ]
    for score in (3, 1, 2):
        run = _post(tracking_server, "/runs/create", {"experiment_id": experiment_id}).json()
        run_id = run["run"]["info"]["run_id"]
        _post(
            tracking_server,
            "/runs/log-metric",
            {"run_id": run_id, "key": "score", "value": score, "timestamp": 1},
        )
    body = {
        "experiment_ids": [experiment_id],
        "filter": "metrics.score > 1",
        "order_by": ["metrics.score ASC"],
    }
    found = _post(tracking_server, "/runs/search", body).json()["runs"]
    scores = [{m["key"]: m["value"] for m in r["data"]["metrics"]}["score"] for r in found]
    assert scores == [2, 3]
    first = _post(
        tracking_server, "/runs/search", {"experiment_ids": [experiment_id], "max_results": 2}
    ).json()
    assert len(first["runs"]) == 2 and first["next_page_token"]
    rest = _post(
        tracking_server,
        "/runs/search",
        {
            "experiment_ids": [experiment_id],
            "max_results": 2,
            "page_token": first["next_page_token"],
        },
    ).json()
    assert len(rest["runs"]) == 1 and "next_page_token" not in rest
    bad_filter = _post(
        tracking_server,
        "/runs/search",
        {"experiment_ids": [experiment_id], "filter": "metrics.score >>> 1"},
    )
    assert bad_filter.status_code == 400


def test_search_runs_takes_or_in_and_parentheses(tracking_server: RunningServer) -> None:
    experiment_id = _post(tracking_server, "/experiments/create", {"name": "grammar"}).json()[
        "experiment_id"
    ]
    ids = {}
    for name, score, team in (("low", 1, "a"), ("mid", 2, "b"), ("high", 3, "c")):
        run = _post(
            tracking_server, "/runs/create", {"experiment_id": experiment_id, "run_name": name}
        ).json()
        ids[name] = run["run"]["info"]["run_id"]
        _post(
            tracking_server,
            "/runs/log-batch",
            {
                "run_id": ids[name],
                "metrics": [{"key": "score", "value": score, "timestamp": 1, "step": 0}],
                "tags": [{"key": "team", "value": team}],
            },
        )
    body = {
        "experiment_ids": [experiment_id],
        # a metric and a tag in one disjunction, grouped, with an IN list
        "filter": "(metrics.score >= 3 OR tags.team IN ('a', 'z')) and run_name NOT IN ('mid')",
        "order_by": ["metrics.score ASC"],
    }
    answer = _post(tracking_server, "/runs/search", body)
    assert answer.status_code == 200, answer.text
    assert [r["info"]["run_id"] for r in answer.json()["runs"]] == [ids["low"], ids["high"]]
    unbalanced = _post(
        tracking_server,
        "/runs/search",
        {"experiment_ids": [experiment_id], "filter": "(metrics.score > 1 or tags.team = 'a'"},
    )
    assert unbalanced.status_code == 400
    assert unbalanced.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "expected ')' to close the '(' at position 1" in unbalanced.json()["message"]
    for bad in ("tags.team IN ('Zq9secret' 'x')", "metrics.score > 'Zq9secret'", "Zq9secret = 'x'"):
        answer = _post(tracking_server, "/runs/search", {"filter": bad})
        assert answer.status_code == 400 and "position" in answer.json()["message"]
        assert "Zq9secret" not in answer.text


def test_run_errors_are_4xx_and_store_is_unchanged(tracking_server: RunningServer) -> None:
    run_id = _new_run(tracking_server, "immutable")
    _post(tracking_server, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "1"})
    changed = _post(
        tracking_server, "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "2"}
    )
    assert (changed.status_code, changed.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert Client(tracking_server.store_uri).get_run(run_id).data.params == {"p": "1"}

    unknown = _post(
        tracking_server,
        "/runs/log-metric",
        {"run_id": "0" * 32, "key": "m", "value": 1, "timestamp": 1},
    )
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    no_run = _post(tracking_server, "/runs/log-metric", {"key": "m", "value": 1, "timestamp": 1})
    assert no_run.status_code == 400 and "run_id" in no_run.json()["message"]
    bad_status = _post(tracking_server, "/runs/update", {"run_id": run_id, "status": "DONE"})
    assert bad_status.status_code == 400 and "DONE" not in bad_status.json()["message"]
    assert _get(tracking_server, "/runs/get", run_id="f" * 32).status_code == 404
    history = _get(tracking_server, "/metrics/get-history", run_id="f" * 32, metric_key="m")
    assert history.status_code == 404


def test_unknown_routes_and_methods_answer_json(tracking_server: RunningServer) -> None:
    unknown = httpx.post(tracking_server.api("/runs/delete-Zq9canary"), json={}, timeout=30)
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
    assert "Zq9canary" not in unknown.text
    wrong = httpx.get(tracking_server.api("/runs/create"), timeout=30)
    assert wrong.status_code == 405 and wrong.json()["error_code"] == "BAD_REQUEST"
