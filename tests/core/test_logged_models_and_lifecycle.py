"""MLflow 3 logged models and soft deletes in the store itself, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from modelpack.errors import AlreadyExists, InvalidInput, NotFound
from modelpack.tracking import Client
from modelpack.tracking.stores.sql import lifecycle
from modelpack.tracking.stores.sql import logged_models as lm


@pytest.fixture
def tracking_uri(any_tracking_uri: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_tracking_uri


def test_logged_model_round_trip(tracking_uri: str) -> None:
    client = Client(tracking_uri)
    experiment_id = client.create_experiment("logged")
    run_id = client.create_run(experiment_id).info.run_id
    made = lm.create_logged_model(
        client.store, experiment_id, "model", "sklearn", run_id, {"C": "1"}, {"a": "b"}
    )
    assert lm.MODEL_ID.match(made.model_id) and made.status == "PENDING"
    assert (made.params, made.tags, made.source_run_id) == ({"C": "1"}, {"a": "b"}, run_id)
    assert lm.finalize_logged_model(client.store, made.model_id, "READY").status == "READY"
    lm.set_logged_model_tags(client.store, made.model_id, {"a": "c", "k": "v"})
    lm.delete_logged_model_tag(client.store, made.model_id, "k")
    lm.log_logged_model_params(client.store, made.model_id, {"depth": "3"})
    again = lm.get_logged_model(client.store, made.model_id)
    assert (again.tags, again.params) == ({"a": "c"}, {"C": "1", "depth": "3"})
    other = lm.create_logged_model(client.store, experiment_id, "other")
    found = lm.search_logged_models(
        client.store, [experiment_id], "name = 'model' AND status = 'READY'"
    )
    assert [m.model_id for m in found] == [made.model_id]
    assert {m.model_id for m in lm.search_logged_models(client.store, [experiment_id])} == {
        made.model_id, other.model_id,
    }  # fmt: skip
    with pytest.raises(InvalidInput):
        lm.search_logged_models(client.store, [experiment_id], "metrics.x > 1")
    with pytest.raises(InvalidInput):
        lm.finalize_logged_model(client.store, made.model_id, "DONE")
    lm.delete_logged_model(client.store, made.model_id)
    with pytest.raises(NotFound):
        lm.get_logged_model(client.store, made.model_id)
    with pytest.raises(NotFound):
        lm.create_logged_model(client.store, "987654", "model")


def test_soft_delete_restore_and_rename(tracking_uri: str) -> None:
    client = Client(tracking_uri)
    experiment_id = client.create_experiment("soft")
    run_id = client.create_run(experiment_id).info.run_id
    lifecycle.delete_run(client.store, run_id)
    assert client.search_runs([experiment_id]) == []
    lifecycle.restore_run(client.store, run_id)
    lifecycle.delete_experiment(client.store, int(experiment_id))
    assert "soft" not in [e.name for e in client.search_experiments()]
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    lifecycle.restore_experiment(client.store, int(experiment_id))
    assert [r.info.run_id for r in client.search_runs([experiment_id])] == [run_id]
    client.create_experiment("taken")
    with pytest.raises(AlreadyExists):
        lifecycle.rename_experiment(client.store, int(experiment_id), "taken")
    lifecycle.rename_experiment(client.store, int(experiment_id), "hard")
    assert client.get_experiment(experiment_id).name == "hard"
    lifecycle.rename_run(client.store, run_id, "renamed")
    assert client.get_run(run_id).data.tags["mlflow.runName"] == "renamed"
    with pytest.raises(NotFound):
        lifecycle.delete_run(client.store, "0" * 32)
    with pytest.raises(NotFound):
        lifecycle.delete_experiment(client.store, 987654)
