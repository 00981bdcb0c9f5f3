"""MLflow's tracking and registry fluent API at ``modelpack.*``: each function's behaviour on
a real store, and one parity check of names and parameters against real MLflow."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import modelpack
from modelpack.errors import InvalidInput, ModelpackError, NotFound
from modelpack.tracking import Client

# -- experiments -----------------------------------------------------------------------


def test_create_get_delete_restore_experiment(tracking_uri: str) -> None:
    experiment_id = modelpack.create_experiment("churn", tags={"team": "ml"})
    found = modelpack.get_experiment(experiment_id)
    assert (found.name, found.lifecycle_stage, found.tags) == ("churn", "active", {"team": "ml"})
    by_name = modelpack.get_experiment_by_name("churn")
    assert by_name is not None and by_name.experiment_id == experiment_id
    assert modelpack.get_experiment_by_name("nope") is None

    modelpack.set_experiment(experiment_id=experiment_id)
    with modelpack.start_run() as run:
        pass
    modelpack.delete_experiment(experiment_id)
    assert modelpack.get_experiment(experiment_id).lifecycle_stage == "deleted"
    # as in MLflow, the experiment's runs go with it, and come back with it
    assert modelpack.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert "churn" not in [e.name for e in modelpack.search_experiments()]
    modelpack.restore_experiment(experiment_id)
    assert modelpack.get_experiment(experiment_id).lifecycle_stage == "active"
    assert modelpack.get_run(run.info.run_id).info.lifecycle_stage == "active"


def test_create_experiment_refuses_what_the_store_decides(tracking_uri: str) -> None:
    with pytest.raises(InvalidInput, match="artifact_location is chosen by the store"):
        modelpack.create_experiment("x", artifact_location="/somewhere")
    modelpack.create_experiment("taken")
    with pytest.raises(ModelpackError, match="already exists"):
        modelpack.create_experiment("taken")
    with pytest.raises(NotFound):
        modelpack.delete_experiment("987654")
    with pytest.raises(InvalidInput, match="experiment id must be a number"):
        modelpack.restore_experiment("../0")


def test_set_experiment_tags_on_the_active_experiment(tracking_uri: str) -> None:
    experiment = modelpack.set_experiment("tagged")
    modelpack.set_experiment_tag("owner", "ana")
    modelpack.set_experiment_tags({"owner": "bo", "project": 7})
    assert modelpack.get_experiment(experiment.experiment_id).tags == {
        "owner": "bo",
        "project": "7",
    }
    modelpack.delete_experiment(experiment.experiment_id)
    with pytest.raises(InvalidInput, match="restore it with restore_experiment"):
        modelpack.set_experiment_tag("late", "x")


@pytest.fixture
def store_uri(any_tracking_uri: str) -> str:
    """SQLite and PostgreSQL: the order, limit and offset are SQL in each dialect."""
    return any_tracking_uri


def test_search_experiments_view_order_and_pages(store_uri: str) -> None:
    ids = {}
    for name in ("b", "c", "a"):
        ids[name] = modelpack.create_experiment(name)
        time.sleep(0.005)  # distinct creation times (milliseconds)
    modelpack.delete_experiment(ids["c"])

    def names(**kwargs: Any) -> list[str]:
        return [e.name for e in modelpack.search_experiments(**kwargs)]

    assert names() == ["a", "b", "Default"]  # newest first, as MLflow
    assert names(order_by=["name"]) == ["Default", "a", "b"]
    assert names(order_by=["name DESC"], max_results=2) == ["b", "a"]
    assert names(view_type=2) == ["c"]
    assert names(view_type="ALL", order_by=["experiment_id DESC"]) == ["a", "c", "b", "Default"]
    newest_first = modelpack.search_experiments(view_type=3, order_by=["creation_time DESC"])
    times = [e.creation_time for e in newest_first]
    assert times == sorted(times, reverse=True) and len(times) == 4
    time.sleep(0.01)  # a delete and a restore touch last_update_time
    Client().delete_experiment(ids["b"])
    Client().restore_experiment(ids["b"])
    assert names(order_by=["last_update_time DESC"])[0] == "b"

    client = Client()
    first = client.search_experiments(view_type="ALL", max_results=3, order_by=["name"])
    assert [e.name for e in first] == ["Default", "a", "b"] and first.token
    rest = client.search_experiments(
        view_type="ALL", max_results=3, order_by=["name"], page_token=first.token
    )
    assert [e.name for e in rest] == ["c"] and rest.token is None


def test_search_experiments_filters_by_name_tags_ids_and_times(tracking_uri: str) -> None:
    client = Client()
    ids = {}
    for name, tags in [
        ("fraud-gbm", {"team": "risk"}),
        ("fraud-lr", {"team": "risk", "stage": "prod"}),
        ("churn", {"team": "growth"}),
        ("Fraud-old", {}),
    ]:
        ids[name] = client.create_experiment(name, tags=tags)
        time.sleep(0.005)  # distinct creation times (milliseconds)
    client.delete_experiment(ids["Fraud-old"])

    def names(filter_string: str, **kwargs: Any) -> list[str]:
        found = modelpack.search_experiments(filter_string=filter_string, **kwargs)
        return [e.name for e in found]

    # newest first unless asked otherwise, as MLflow
    assert names("name LIKE 'fraud-%'") == ["fraud-lr", "fraud-gbm"]
    assert names("name ILIKE 'fraud-%'", view_type="ALL") == ["Fraud-old", "fraud-lr", "fraud-gbm"]
    assert names("tags.team = 'risk' and tags.stage = 'prod'") == ["fraud-lr"]
    assert names("tags.team = 'growth' or name = 'fraud-gbm'") == ["churn", "fraud-gbm"]
    assert names("tags.team != 'risk'") == ["churn"]  # a missing tag matches no comparison
    assert names("tags.stage IS NULL and tags.team IS NOT NULL") == ["churn", "fraud-gbm"]
    assert names(f"experiment_id IN ('{ids['churn']}', '{ids['fraud-lr']}')") == [
        "churn",
        "fraud-lr",
    ]
    start = client.get_experiment(ids["fraud-lr"]).creation_time
    assert names(f"creation_time >= {start}") == ["churn", "fraud-lr"]
    assert names("attributes.name != 'Default'", order_by=["name DESC"]) == [
        "fraud-lr",
        "fraud-gbm",
        "churn",
    ]
    # filtering comes before paging: pages hold matches only, and the token goes on
    first = client.search_experiments(max_results=1, filter_string="name LIKE 'fraud%'")
    assert [e.name for e in first] == ["fraud-lr"] and first.token
    rest = client.search_experiments(
        max_results=1, filter_string="name LIKE 'fraud%'", page_token=first.token
    )
    assert [e.name for e in rest] == ["fraud-gbm"] and rest.token is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filter_string": "params.alpha = 'DROP'"}, "the key at position 1 is not known"),
        ({"filter_string": "name < 'DROP'"}, "operator < at position 6 does not apply"),
        ({"filter_string": "creation_time > 'DROP'"}, "expected a number"),
        ({"filter_string": "(name = 'DROP'"}, "unbalanced parentheses"),
        ({"order_by": ["name; DROP TABLE runs"]}, "each order_by entry must be a column"),
        ({"order_by": ["lifecycle_stage"]}, "the columns are name, experiment_id"),
        ({"order_by": "name"}, "order_by must be a list"),
        ({"view_type": 4}, "view_type must be ACTIVE_ONLY"),
        ({"max_results": 0}, "max_results must be from 1"),
    ],
)
def test_search_experiments_refuses_what_it_cannot_do(
    tracking_uri: str, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        modelpack.search_experiments(**kwargs)
    assert "DROP" not in str(caught.value)  # the caller's text is not echoed
    assert [e.name for e in modelpack.search_experiments()] == ["Default"]


def test_a_page_token_must_be_one_the_client_made(tracking_uri: str) -> None:
    with pytest.raises(InvalidInput, match="page_token must be the token"):
        Client().search_experiments(page_token="-5")


# -- runs ------------------------------------------------------------------------------


def test_delete_run_then_restore(tracking_uri: str) -> None:
    with modelpack.start_run() as run:
        modelpack.log_metric("rmse", 0.5)
    run_id = run.info.run_id
    modelpack.delete_run(run_id)
    assert modelpack.get_run(run_id).info.lifecycle_stage == "deleted"
    assert modelpack.search_runs(output_format="list") == []
    deleted = modelpack.search_runs(run_view_type="DELETED_ONLY", output_format="list")
    assert [r.info.run_id for r in deleted] == [run_id]
    modelpack.restore_run(run_id)
    restored = modelpack.get_run(run_id)
    assert restored.info.lifecycle_stage == "active" and restored.data.metrics == {"rmse": 0.5}
    with pytest.raises(NotFound):
        modelpack.delete_run("0" * 32)


def test_get_parent_run_of_a_nested_run(tracking_uri: str) -> None:
    with modelpack.start_run() as parent:
        with modelpack.start_run(nested=True) as child:
            pass
    found = modelpack.get_parent_run(child.info.run_id)
    assert found is not None and found.info.run_id == parent.info.run_id
    assert modelpack.get_parent_run(parent.info.run_id) is None
    # MLflow's parent_run_id: a run nested under a run that is not active
    with modelpack.start_run(parent_run_id=parent.info.run_id) as adopted:
        pass
    again = modelpack.get_parent_run(adopted.info.run_id)
    assert again is not None and again.info.run_id == parent.info.run_id
    with modelpack.start_run(), pytest.raises(InvalidInput, match="another run than the active"):
        modelpack.start_run(nested=True, parent_run_id=parent.info.run_id)


def test_last_active_run_after_end_run(tracking_uri: str) -> None:
    with modelpack.start_run() as run:
        current = modelpack.last_active_run()
        assert current is not None and current.info.status == "RUNNING"
    last = modelpack.last_active_run()
    assert last is not None
    assert (last.info.run_id, last.info.status) == (run.info.run_id, "FINISHED")
    seen: list[Any] = []  # a thread that has had no run sees none
    thread = threading.Thread(target=lambda: seen.append(modelpack.last_active_run()))
    thread.start()
    thread.join()
    assert seen == [None]


def test_delete_tag_and_description(tracking_uri: str) -> None:
    with modelpack.start_run(description="first try", tags={"a": "1"}) as run:
        modelpack.set_tag("b", "2")
        modelpack.delete_tag("a")
    tags = modelpack.get_run(run.info.run_id).data.tags
    assert tags["b"] == "2" and "a" not in tags
    assert tags["mlflow.note.content"] == "first try"


def test_get_artifact_uri_points_into_the_run(tracking_uri: str) -> None:
    with modelpack.start_run() as run:
        root = modelpack.get_artifact_uri()
        assert root == run.info.artifact_uri.rstrip("/")
        assert modelpack.get_artifact_uri("model/MLmodel") == f"{root}/model/MLmodel"
        with pytest.raises(ModelpackError):
            modelpack.get_artifact_uri("../escape")


def test_logging_to_a_named_run(tracking_uri: str, tmp_path: Path) -> None:
    with modelpack.start_run() as first:
        pass
    folder = tmp_path / "files"
    folder.mkdir()
    file = folder / "notes.txt"
    file.write_text("hi")
    with modelpack.start_run() as second:
        target = first.info.run_id
        modelpack.log_metric("m", 1.0, run_id=target)
        modelpack.log_metrics({"n": 2.0}, run_id=target, timestamp=5)
        modelpack.log_params({"p": 3}, run_id=target)
        modelpack.log_text("t", "t.txt", run_id=target)
        modelpack.log_dict({"k": 1}, "d.json", run_id=target)
        modelpack.log_artifact(file, run_id=target)
        modelpack.log_artifacts(folder, "dir", run_id=target)
    stored = modelpack.get_run(target)
    assert stored.data.metrics == {"m": 1.0, "n": 2.0} and stored.data.params == {"p": "3"}
    client = Client()
    assert client.list_artifacts(target) == ["d.json", "dir/notes.txt", "notes.txt", "t.txt"]
    assert client.get_run(second.info.run_id).data.metrics == {}


def test_log_table_writes_mlflow_table_json_and_appends(tracking_uri: str) -> None:
    import pandas as pd

    with modelpack.start_run() as run:
        modelpack.log_table({"x": [1, 2], "y": ["a", "b"]}, "eval/table.json")
        modelpack.log_table(pd.DataFrame({"x": [3], "y": ["c"]}), "eval/table.json")
    client = Client()
    path = client.download_artifacts(run.info.run_id, "eval/table.json")
    assert json.loads(path.read_text()) == {
        "columns": ["x", "y"],
        "data": [[1, "a"], [2, "b"], [3, "c"]],
    }
    tag = json.loads(client.get_run(run.info.run_id).data.tags["mlflow.loggedArtifacts"])
    assert tag == [{"path": "eval/table.json", "type": "table"}]


@pytest.mark.parametrize(
    ("data", "artifact_file", "message"),
    [
        ({"x": [1, 2], "y": [1]}, "t.json", "all lists of one length"),
        ([1, 2], "t.json", "expects a dict or a pandas DataFrame"),
        ({"x": [1]}, "t.csv", "name the artifact file"),
    ],
)
def test_log_table_refuses_what_is_not_a_table(
    tracking_uri: str, data: Any, artifact_file: str, message: str
) -> None:
    with modelpack.start_run() as run:
        with pytest.raises(InvalidInput, match=message):
            modelpack.log_table(data, artifact_file)
    assert Client().list_artifacts(run.info.run_id) == []


# -- registry ----------------------------------------------------------------------------


def test_search_registered_models_and_versions(
    tracking_uri: str, make_model_dir: Callable[..., Path]
) -> None:
    client = Client()
    for name in ("beta", "alpha"):
        client.create_registered_model(name)
        for _ in range(2):
            client.create_model_version(name, make_model_dir())
    models = modelpack.search_registered_models(order_by=["name"])
    assert [m.name for m in models] == ["alpha", "beta"]
    assert [m.name for m in modelpack.search_registered_models(max_results=1)] == ["alpha"]
    only = modelpack.search_registered_models(filter_string="name = 'beta'")
    assert [m.name for m in only] == ["beta"]
    versions = modelpack.search_model_versions(
        filter_string="name = 'alpha'", order_by=["version_number DESC"]
    )
    assert [(v.name, v.version) for v in versions] == [("alpha", 2), ("alpha", 1)]
    ordered = modelpack.search_model_versions(order_by=["name DESC", "version_number ASC"])
    assert [(v.name, v.version) for v in ordered] == [
        ("beta", 1), ("beta", 2), ("alpha", 1), ("alpha", 2),
    ]  # fmt: skip
    with pytest.raises(InvalidInput, match="the fields are name, creation_timestamp"):
        modelpack.search_registered_models(order_by=["version_number"])


def test_registry_uri_is_the_tracking_uri(tracking_uri: str, tmp_path: Path) -> None:
    assert modelpack.get_registry_uri() == modelpack.get_tracking_uri()
    modelpack.set_registry_uri(tracking_uri)  # the same store: accepted
    elsewhere = f"sqlite:///{tmp_path / 'other.db'}"
    with pytest.raises(InvalidInput, match="registry lives in the tracking store") as caught:
        modelpack.set_registry_uri(elsewhere)
    assert "other.db" not in str(caught.value)
    with pytest.raises(InvalidInput, match="registry lives in the tracking store"):
        modelpack.MlflowClient(tracking_uri, registry_uri=elsewhere)
    assert modelpack.MlflowClient(tracking_uri, registry_uri=tracking_uri).tracking_uri


def test_is_tracking_uri_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelpack.tracking import config

    monkeypatch.delenv("MODELPACK_TRACKING_URI", raising=False)
    config.reset_tracking_uri()
    try:
        assert modelpack.is_tracking_uri_set() is False
        monkeypatch.setenv("MODELPACK_TRACKING_URI", f"sqlite:///{tmp_path / 'a.db'}")
        assert modelpack.is_tracking_uri_set() is True
        monkeypatch.delenv("MODELPACK_TRACKING_URI")
        modelpack.set_tracking_uri(tmp_path / "store")
        assert modelpack.is_tracking_uri_set() is True
    finally:
        config.reset_tracking_uri()


def test_mlflow_exception_catches_modelpack_errors(tracking_uri: str) -> None:
    with pytest.raises(modelpack.MlflowException):
        modelpack.get_experiment("424242")
    assert modelpack.MlflowException is modelpack.ModelpackError
    from modelpack import MlflowClient as FromTop
    from modelpack.tracking import MlflowClient

    assert FromTop is MlflowClient is modelpack.Client
    started = modelpack.start_run()
    assert isinstance(started, modelpack.ActiveRun)
    with started as run:
        assert modelpack.active_run() is run
    assert modelpack.active_run() is None
    wrapped = modelpack.ActiveRun(modelpack.get_run(run.info.run_id))  # MLflow's ActiveRun(run)
    assert wrapped.info.run_id == run.info.run_id and wrapped.data.tags is not None


# -- parity with MLflow's names and parameters -------------------------------------------

#: MLflow 3.17 names a script that tracks runs and uses the registry calls every day
TRACKING_AND_REGISTRY = (
    "ActiveRun", "MlflowClient", "MlflowException", "active_run", "create_experiment",
    "delete_experiment", "delete_run", "delete_tag", "end_run", "get_artifact_uri",
    "get_experiment", "get_experiment_by_name", "get_parent_run", "get_registry_uri",
    "get_run", "get_tracking_uri", "is_tracking_uri_set", "last_active_run", "log_artifact",
    "log_artifacts", "log_dict", "log_figure", "log_metric", "log_metrics", "log_param",
    "log_params", "log_table", "log_text", "register_model", "restore_experiment",
    "restore_run", "search_experiments", "search_model_versions", "search_registered_models",
    "search_runs", "set_experiment", "set_experiment_tag", "set_experiment_tags",
    "set_registry_uri", "set_tag", "set_tags", "set_tracking_uri", "start_run",
)  # fmt: skip

#: names of ``mlflow.__all__`` deliberately not taken (yet), by reason
NOT_TAKEN = {
    # GenAI tracing, assessments and sessions
    "add_trace", "delete_assessment", "delete_trace_tag", "flush_trace_async_logging",
    "get_active_trace_id", "get_assessment", "get_current_active_span",
    "get_last_active_trace_id", "get_trace", "log_assessment", "log_expectation",
    "log_feedback", "log_issue", "log_outputs", "log_trace", "override_feedback",
    "search_sessions", "search_traces", "set_trace_tag", "start_span", "start_span_no_context",
    "trace", "update_assessment", "update_current_trace",
    # prompts
    "delete_prompt_alias", "load_prompt", "register_prompt", "search_prompts",
    "set_prompt_alias",
    # workspaces, login, the AI gateway, Databricks helpers
    "create_workspace", "delete_workspace", "get_workspace", "list_workspaces", "login",
    "set_workspace", "update_workspace", "gateway", "import_checkpoints",
    # logged models (MLflow 3's GenAI-centred model entities) and active models
    "ActiveModel", "clear_active_model", "create_external_model", "delete_logged_model_tag",
    "finalize_logged_model", "get_active_model_id", "get_logged_model",
    "initialize_logged_model", "last_logged_model", "log_model_params", "search_logged_models",
    "set_active_model", "set_logged_model_tags",
    # system metrics, async logging, autologging, datasets, images, streams, projects
    "disable_system_metrics_logging", "enable_system_metrics_logging",
    "set_system_metrics_node_id", "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval", "flush_artifact_async_logging",
    "flush_async_logging", "autolog", "log_input", "log_inputs", "load_table", "log_image",
    "log_stream", "Image", "run", "context", "doctor", "test",
    # not tracking: these exist here under their own modules, or are covered elsewhere
    "evaluate", "pyfunc", "validate_evaluation_results", "delete_experiment_tag",
    "set_model_version_tag",
}  # fmt: skip

#: parameters of MLflow's that a name here does not take, by reason
PARAMS_NOT_TAKEN = {
    # synchronous=False is MLflow's async logging; modelpack's writes are synchronous
    **{n: {"synchronous"} for n in ("log_param", "log_params", "set_tag", "set_tags")},
    "log_metric": {"synchronous", "model_id", "dataset"},  # + MLflow 3 logged models
    "log_metrics": {"synchronous", "model_id", "dataset"},
    "log_figure": {"save_kwargs"},
    "create_experiment": {"trace_location"},  # GenAI traces in Unity Catalog
    "set_experiment": {"trace_location"},
    "start_run": {"log_system_metrics"},
    "register_model": {"env_pack"},  # Databricks model serving
    "MlflowClient": {"workspace_store_uri"},
    # modelpack errors carry a fixed error_code per class (see modelpack.errors)
    "MlflowException": {"error_code", "sqlstate", "error_class", "kwargs"},
}
#: keyword-only parameters modelpack adds to a name
PARAMS_ADDED = {"register_model": {"client"}, "ActiveRun": {"client"}}

_SIGNATURES = """
import inspect, json, sys, mlflow
out = {"__all__": sorted(set(mlflow.__all__)), "signatures": {}}
for name in sys.argv[1:]:
    params = inspect.signature(getattr(mlflow, name)).parameters.values()
    out["signatures"][name] = [[p.name, p.kind.name] for p in params]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def mlflow_api() -> dict[str, Any]:
    from tests.mlflow_venv import mlflow_python

    answer = subprocess.run(
        [mlflow_python(), "-c", _SIGNATURES, *TRACKING_AND_REGISTRY],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    found: dict[str, Any] = json.loads(answer.stdout.strip().splitlines()[-1])
    return found


def test_every_mlflow_name_is_taken_or_excluded_on_purpose(mlflow_api: dict[str, Any]) -> None:
    names = set(mlflow_api["__all__"])
    assert set(TRACKING_AND_REGISTRY) <= names, "a curated name left MLflow: update the list"
    unsorted = names - set(TRACKING_AND_REGISTRY) - NOT_TAKEN
    assert not unsorted, f"new in mlflow.__all__, take or exclude: {sorted(unsorted)}"
    missing = [n for n in TRACKING_AND_REGISTRY if not hasattr(modelpack, n)]
    assert not missing, f"modelpack lacks {missing}"


@pytest.mark.parametrize("name", TRACKING_AND_REGISTRY)
def test_parameters_match_mlflow(mlflow_api: dict[str, Any], name: str) -> None:
    import inspect

    theirs = [tuple(p) for p in mlflow_api["signatures"][name]]
    ours = [(p.name, p.kind.name) for p in inspect.signature(getattr(modelpack, name)).parameters.values()]  # fmt: skip
    their_names, our_names = [n for n, _ in theirs], [n for n, _ in ours]
    assert set(their_names) - set(our_names) == PARAMS_NOT_TAKEN.get(name, set())
    assert set(our_names) - set(their_names) == PARAMS_ADDED.get(name, set())
    # a positional call means the same on both sides: each parameter we take by position
    # is at MLflow's position; the others are keyword-only (a TypeError, never a shift)
    for index, (param, kind) in enumerate(ours):
        if kind in ("POSITIONAL_ONLY", "POSITIONAL_OR_KEYWORD"):
            assert their_names.index(param) == index, f"{name}({param}) is at another position"
