"""MLflow's fluent functions for experiments and runs named by id, name or a search (not
only the active run): create, read, tag, delete, restore and search them in the current
store.

>>> import modelpack
>>> experiment_id = modelpack.create_experiment("churn", tags={"team": "ml"})  # doctest: +SKIP
>>> modelpack.delete_experiment(experiment_id)  # doctest: +SKIP
>>> [e.name for e in modelpack.search_experiments(view_type="DELETED_ONLY")]  # doctest: +SKIP
['churn']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from modelpack.errors import InvalidInput, NotFound
from modelpack.tracking.client import Client
from modelpack.tracking.entities import Experiment, Run
from modelpack.tracking.experiment_search import view_type_name
from modelpack.tracking.fluent import active_experiment_id


def get_experiment(experiment_id: str) -> Experiment:
    """The experiment with this id (``NotFound`` otherwise)."""
    return Client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment called ``name``, or ``None``."""
    return Client().get_experiment_by_name(name)


def create_experiment(
    name: str, artifact_location: str | None = None, tags: Mapping[str, Any] | None = None
) -> str:
    """Create an experiment and return its id (``AlreadyExists`` if the name is taken).

    ``artifact_location`` is MLflow's; here the store places every experiment's
    artifacts (``MODELPACK_ARTIFACT_ROOT`` or the server's), so it must be left out.
    """
    if artifact_location is not None:
        raise InvalidInput(
            "artifact_location is chosen by the store here (MODELPACK_ARTIFACT_ROOT, or the "
            "tracking server's --artifacts-destination); omit it"
        )
    return Client().create_experiment(name, tags)


def delete_experiment(experiment_id: str) -> None:
    """Mark an experiment and its runs deleted; :func:`restore_experiment` undoes it."""
    Client().delete_experiment(experiment_id)


def restore_experiment(experiment_id: str) -> None:
    """Bring a deleted experiment and its runs back."""
    Client().restore_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    """Set a tag on the active experiment (see :func:`modelpack.set_experiment`)."""
    client = Client()
    client.set_experiment_tag(active_experiment_id(client), key, value)


def set_experiment_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active experiment."""
    client = Client()
    experiment_id = active_experiment_id(client)
    for key, value in tags.items():
        client.set_experiment_tag(experiment_id, key, value)


def search_experiments(
    view_type: int | str = 1,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
) -> list[Experiment]:
    """Experiments in ``view_type`` (1 ``ACTIVE_ONLY``, 2 ``DELETED_ONLY``, 3 ``ALL``),
    ordered by ``order_by`` (``"name"``, ``"experiment_id"``, ``"creation_time"``,
    ``"last_update_time"``, each optionally ``ASC``/``DESC``); at most ``max_results``
    (default: all) matching ``filter_string`` (``name``, ``experiment_id``,
    ``creation_time``, ``last_update_time``, ``tags.<key>``; the runs' operators, ``AND``,
    ``OR`` and parentheses: see :mod:`modelpack.tracking.experiment_search`).

    >>> modelpack.search_experiments(order_by=["last_update_time DESC"], max_results=5)  # doctest: +SKIP
    """
    found = Client().search_experiments(view_type, max_results, filter_string, order_by)
    return list(found)


def get_run(run_id: str) -> Run:
    """The run with this id: its info, params, latest metrics and tags."""
    return Client().get_run(run_id)


def delete_run(run_id: str) -> None:
    """Mark a run deleted (hidden from searches); :func:`restore_run` undoes it."""
    Client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    """Bring a deleted run back."""
    Client().restore_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    """The run that ``run_id`` is nested in, or ``None`` for a top-level run.

    >>> with modelpack.start_run() as parent:  # doctest: +SKIP
    ...     with modelpack.start_run(nested=True) as child:
    ...         assert modelpack.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id
    """
    client = Client()
    parent_id = client.get_run(run_id).info.parent_run_id
    return client.get_run(parent_id) if parent_id else None


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: int | str = 1,
    max_results: int = 1000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    search_all_experiments: bool = False,
    experiment_names: Sequence[str] | None = None,
) -> Any:
    """Runs matching ``filter_string``, as a pandas DataFrame (or a list with ``"list"``),
    in ``run_view_type`` (1 ``ACTIVE_ONLY``, 2 ``DELETED_ONLY``, 3 ``ALL``).

    Defaults to the active experiment (every experiment with ``search_all_experiments``).

    >>> modelpack.search_runs(filter_string="metrics.rmse < 0.5", order_by=["metrics.rmse"])  # doctest: +SKIP
    """
    client = Client()
    if experiment_names:
        ids = []
        for name in experiment_names:
            found = client.get_experiment_by_name(name)
            if found is None:
                raise NotFound(f"no experiment named '{name}'")
            ids.append(found.experiment_id)
        experiment_ids = ids
    view = view_type_name(run_view_type)
    if experiment_ids is None and not search_all_experiments:
        experiment_ids = [active_experiment_id(client)]
    found_runs = client.search_runs(
        experiment_ids, filter_string, order_by, max_results, run_view_type=view
    )
    if output_format == "list":
        return found_runs
    if output_format != "pandas":
        raise InvalidInput(f"output_format must be 'pandas' or 'list', got {output_format!r}")
    return _runs_frame(found_runs)


def _runs_frame(found: list[Run]) -> Any:
    import pandas as pd

    records = []
    for run in found:
        record: dict[str, Any] = {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "status": run.info.status,
            "artifact_uri": run.info.artifact_uri,
            "start_time": pd.to_datetime(run.info.start_time, unit="ms", utc=True),
            "end_time": pd.to_datetime(run.info.end_time, unit="ms", utc=True),
            "run_name": run.info.run_name,
        }
        record.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        record.update({f"params.{k}": v for k, v in run.data.params.items()})
        record.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        records.append(record)
    return pd.DataFrame.from_records(records)


__all__ = [
    "create_experiment",
    "delete_experiment",
    "delete_run",
    "get_experiment",
    "get_experiment_by_name",
    "get_parent_run",
    "get_run",
    "restore_experiment",
    "restore_run",
    "search_experiments",
    "search_runs",
    "set_experiment_tag",
    "set_experiment_tags",
]
