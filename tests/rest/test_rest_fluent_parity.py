"""MLflow's tracking fluent functions through ``MODELPACK_TRACKING_URI=http://...``: the same
behaviour as on the embedded store, from ``mlflow server`` and from ``modelpack server``.

The servers are shared by the session: each test names what it makes uniquely and looks
only at that."""

from __future__ import annotations

import json
import time
import uuid

import pytest

import modelpack
from modelpack.tracking import Client, Experiment


def _prefix() -> str:
    return f"fp-{uuid.uuid4().hex[:8]}-"


def test_runs_delete_restore_tags_and_parents(tracking_server_url: str) -> None:
    modelpack.set_experiment(_prefix() + "runs")
    with modelpack.start_run(tags={"gone": "x"}) as parent:
        modelpack.delete_tag("gone")
        with modelpack.start_run(nested=True) as child:
            pass
    run_id = parent.info.run_id
    assert "gone" not in modelpack.get_run(run_id).data.tags
    found = modelpack.get_parent_run(child.info.run_id)
    assert found is not None and found.info.run_id == run_id
    last = modelpack.last_active_run()
    assert last is not None and last.info.run_id == run_id

    modelpack.delete_run(run_id)
    assert modelpack.get_run(run_id).info.lifecycle_stage == "deleted"
    listed = [r.info.run_id for r in modelpack.search_runs(output_format="list")]
    assert listed == [child.info.run_id]
    modelpack.restore_run(run_id)
    assert modelpack.get_run(run_id).info.lifecycle_stage == "active"


def test_experiments_tag_delete_restore(tracking_server_url: str) -> None:
    name = _prefix() + "exp"
    experiment_id = modelpack.create_experiment(name, tags={"a": "1"})
    modelpack.set_experiment(experiment_id=experiment_id)
    modelpack.set_experiment_tags({"a": "2", "b": "3"})
    assert modelpack.get_experiment(experiment_id).tags == {"a": "2", "b": "3"}
    modelpack.delete_experiment(experiment_id)
    deleted = modelpack.search_experiments(view_type="DELETED_ONLY")
    assert name in [e.name for e in deleted]
    assert name not in [e.name for e in modelpack.search_experiments()]
    modelpack.restore_experiment(experiment_id)
    assert modelpack.get_experiment_by_name(name) is not None
    assert modelpack.get_experiment(experiment_id).lifecycle_stage == "active"


def test_search_experiments_orders_and_pages(tracking_server_url: str) -> None:
    prefix = _prefix()
    for name in ("b", "c", "a"):
        modelpack.create_experiment(prefix + name)
        time.sleep(0.005)  # distinct creation times (milliseconds)

    def mine(found: list[Experiment]) -> list[str]:
        return [e.name.removeprefix(prefix) for e in found if e.name.startswith(prefix)]

    assert mine(modelpack.search_experiments()) == ["a", "c", "b"]  # newest first, as MLflow
    assert mine(modelpack.search_experiments(order_by=["name DESC"])) == ["c", "b", "a"]
    client, seen, token = Client(), [], None
    while True:  # two at a time, through the server's own page tokens
        page = client.search_experiments(max_results=2, order_by=["name"], page_token=token)
        assert len(page) <= 2
        seen += mine(page)
        token = page.token
        if token is None:
            break
    assert seen == ["a", "b", "c"]
    # the filter is applied by modelpack's client, so it holds against either server
    wanted = f"name LIKE '{prefix}%' and name != '{prefix}b'"
    assert mine(modelpack.search_experiments(filter_string=wanted)) == ["a", "c"]


@pytest.mark.needs("artifacts")
def test_log_table_appends_on_the_server(tracking_server_url: str) -> None:
    modelpack.set_experiment(_prefix() + "table")
    with modelpack.start_run() as run:
        modelpack.log_table({"x": [1]}, "t.json")
        modelpack.log_table({"x": [2]}, "t.json")
    path = Client().download_artifacts(run.info.run_id, "t.json")
    assert json.loads(path.read_text()) == {"columns": ["x"], "data": [[1], [2]]}
