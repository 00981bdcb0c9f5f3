"""MLflow's fluent tracking API: an active run per thread, started and ended for you.

>>> import modelpack
>>> modelpack.set_experiment("iris")  # doctest: +SKIP
>>> with modelpack.start_run(run_name="rf") as run:  # doctest: +SKIP
...     modelpack.log_param("n_estimators", 100)
...     modelpack.log_metrics({"accuracy": 0.97}, step=1)
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from modelpack.errors import InvalidInput
from modelpack.tracking.client import Client
from modelpack.tracking.config import get_tracking_uri
from modelpack.tracking.entities import Experiment, Metric, Run, RunData, RunInfo, now_ms
from modelpack.tracking.names import (
    check_artifact_path,
    check_experiment_name,
    check_key,
    check_metric_value,
    check_step,
)

EXPERIMENT_NAME_ENV = "MODELPACK_EXPERIMENT_NAME"
#: MLflow's tag for a run's description
NOTE_TAG = "mlflow.note.content"

_local = threading.local()
_experiment: dict[str, str] = {}  # tracking URI -> active experiment id


def _stack() -> list[ActiveRun]:
    if not hasattr(_local, "stack"):
        _local.stack = []
    stack: list[ActiveRun] = _local.stack
    return stack


class ActiveRun:
    """The run :func:`start_run` returned; a context manager that ends it.

    Leaving the ``with`` block normally ends the run FINISHED, by an exception FAILED,
    by Ctrl-C KILLED.
    """

    def __init__(self, run: Run, *, client: Client | None = None) -> None:
        self._run = run
        self.client = client or Client()

    @property
    def info(self) -> RunInfo:
        """The run's info as it was when started."""
        return self._run.info

    @property
    def data(self) -> RunData:
        """The run's current params, metrics and tags (read from the store)."""
        return self.client.get_run(self._run.info.run_id).data

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            status = "FINISHED"
        else:
            status = "KILLED" if issubclass(exc_type, KeyboardInterrupt) else "FAILED"
        if self in _stack():
            _end(self, status)

    def __repr__(self) -> str:
        return f"<ActiveRun {self._run.info.run_id} {self._run.info.run_name!r}>"


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment the active one, creating it (by name) if missing.

    >>> modelpack.set_experiment("iris").name  # doctest: +SKIP
    'iris'
    """
    client = Client()
    if experiment_name is not None:
        experiment = client.backend.get_or_create_experiment(check_experiment_name(experiment_name))
    elif experiment_id is not None:
        experiment = client.get_experiment(str(experiment_id))
    else:
        raise InvalidInput("set_experiment needs experiment_name or experiment_id")
    _experiment[get_tracking_uri()] = experiment.experiment_id
    return experiment


def active_experiment_id(client: Client) -> str:
    """The id of the experiment new runs go to (``set_experiment``, then
    ``MODELPACK_EXPERIMENT_NAME``, then the Default experiment ``"0"``)."""
    chosen = _experiment.get(get_tracking_uri())
    if chosen is not None:
        return chosen
    name = os.environ.get(EXPERIMENT_NAME_ENV)
    if name:
        return client.backend.get_or_create_experiment(check_experiment_name(name)).experiment_id
    return "0"


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
) -> ActiveRun:
    """Start (or resume, given ``run_id``) a run and make it the active one; nested in the
    active run (``nested=True``) or in ``parent_run_id``. ``description`` is kept in the
    ``mlflow.note.content`` tag, as MLflow does.

    >>> with modelpack.start_run(run_name="baseline") as run:  # doctest: +SKIP
    ...     print(run.info.run_id)
    """
    stack = _stack()
    if stack and not nested:
        raise InvalidInput(
            f"run '{stack[-1].info.run_id}' is already active; end it with end_run() "
            "or start this one with nested=True"
        )
    if parent_run_id is not None and stack and stack[-1].info.run_id != parent_run_id:
        raise InvalidInput(
            f"parent_run_id names another run than the active run '{stack[-1].info.run_id}'; "
            "a nested run's parent is the active run: omit parent_run_id"
        )
    client = Client()
    if description is not None:
        tags = {**(tags or {}), NOTE_TAG: description}
    if run_id is not None:
        run = client.get_run(run_id)
        client.backend.reopen_run(run.info.run_id)
        if tags:
            client.log_batch(run.info.run_id, tags=tags)
    else:
        parent = stack[-1].info.run_id if stack else parent_run_id
        experiment = (
            str(experiment_id) if experiment_id is not None else active_experiment_id(client)
        )
        run = client.create_run(experiment, run_name=run_name, tags=tags, parent_run_id=parent)
    active = ActiveRun(run, client=client)
    stack.append(active)
    _local.last_run_id = run.info.run_id
    return active


def _end(active: ActiveRun, status: str) -> None:
    stack = _stack()
    while stack:
        top = stack.pop()
        _local.last_run_id = top.info.run_id
        top.client.set_terminated(top.info.run_id, status)
        if top is active:
            break


def end_run(status: str = "FINISHED") -> None:
    """End the active run (no-op when there is none)."""
    stack = _stack()
    if stack:
        _end(stack[-1], status)


def active_run() -> ActiveRun | None:
    """The active run of this thread, or ``None``."""
    stack = _stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    """The active run, else the run this thread started or ended last, read from the
    store (``None`` if this thread has had no run).

    >>> with modelpack.start_run(): ...  # doctest: +SKIP
    >>> modelpack.last_active_run().info.status  # doctest: +SKIP
    'FINISHED'
    """
    current = active_run()
    if current is not None:
        return current.client.get_run(current.info.run_id)
    run_id: str | None = getattr(_local, "last_run_id", None)
    return Client().get_run(run_id) if run_id is not None else None


def _run() -> ActiveRun:
    return active_run() or start_run()


def _target(run_id: str | None) -> tuple[Client, str]:
    """The client and run a logging call acts on: ``run_id``, else the active run."""
    if run_id is not None:
        return Client(), run_id
    active = _run()
    return active.client, active.info.run_id


def log_param(key: str, value: Any) -> Any:
    """Log one param to the active run (started if needed); returns ``value``."""
    active = _run()
    return active.client.log_param(active.info.run_id, key, value)


def log_params(params: Mapping[str, Any], *, run_id: str | None = None) -> None:
    """Log several params in one transaction (to ``run_id``, default the active run)."""
    client, target = _target(run_id)
    client.log_batch(target, params=params)


def log_metric(
    key: str,
    value: float,
    step: int | None = None,
    *,
    timestamp: int | None = None,
    run_id: str | None = None,
) -> None:
    """Append one metric point to ``run_id`` (default: the active run); NaN and
    infinities are kept."""
    client, target = _target(run_id)
    client.log_metric(target, key, value, timestamp, step)


def log_metrics(
    metrics: Mapping[str, float],
    step: int | None = None,
    *,
    run_id: str | None = None,
    timestamp: int | None = None,
) -> None:
    """Append several metric points in one transaction: the fast path for many values
    (to ``run_id``, default the active run)."""
    client, target = _target(run_id)
    stamp = timestamp if timestamp is not None else now_ms()
    clean_step = check_step(step)
    rows = [
        Metric(check_key(k, "metric key"), check_metric_value(v, k), stamp, clean_step)
        for k, v in metrics.items()
    ]
    client.log_batch(target, metrics=rows)


def set_tag(key: str, value: Any) -> None:
    """Set one tag on the active run."""
    active = _run()
    active.client.set_tag(active.info.run_id, key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags on the active run in one transaction."""
    active = _run()
    active.client.log_batch(active.info.run_id, tags=tags)


def delete_tag(key: str) -> None:
    """Remove one tag from the active run."""
    active = _run()
    active.client.delete_tag(active.info.run_id, key)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The URI of the active run's artifacts (started if needed), or of ``artifact_path``
    in them.

    >>> modelpack.get_artifact_uri("model")  # doctest: +SKIP
    'file:///home/me/modelpack-store/artifacts/0/3f.../artifacts/model'
    """
    active = _run()
    root = active.info.artifact_uri.rstrip("/")
    if not artifact_path:
        return root
    return f"{root}/{check_artifact_path(artifact_path)}"


def log_artifact(
    local_path: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a file into the artifacts of ``run_id`` (default: the active run)."""
    client, target = _target(run_id)
    client.log_artifact(target, local_path, artifact_path)


def log_artifacts(
    local_dir: str | os.PathLike[str], artifact_path: str | None = None, run_id: str | None = None
) -> None:
    """Copy a directory's files into the artifacts of ``run_id`` (default: the active run)."""
    client, target = _target(run_id)
    client.log_artifacts(target, local_dir, artifact_path)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Save a dict as JSON (YAML for .yaml/.yml) in the artifacts of ``run_id`` (default:
    the active run)."""
    client, target = _target(run_id)
    client.log_dict(target, dictionary, artifact_file)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Save text in the artifacts of ``run_id`` (default: the active run)."""
    client, target = _target(run_id)
    client.log_text(target, text, artifact_file)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Save a dict of columns or a DataFrame as a JSON table (MLflow's format) in the
    artifacts of ``run_id`` (default: the active run); logging to the same file again
    appends rows.

    >>> modelpack.log_table({"x": [1, 2], "y": ["a", "b"]}, "table.json")  # doctest: +SKIP
    """
    client, target = _target(run_id)
    client.log_table(target, data, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    """Save a matplotlib figure in the active run's artifacts (needs matplotlib)."""
    active = _run()
    active.client.log_figure(active.info.run_id, figure, artifact_file)


@atexit.register
def _end_runs_at_exit() -> None:
    while active_run() is not None:
        try:
            end_run()
        except Exception:  # the store may be gone at exit; nothing useful to do
            break


__all__ = [
    "ActiveRun",
    "active_experiment_id",
    "active_run",
    "delete_tag",
    "end_run",
    "get_artifact_uri",
    "last_active_run",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_table",
    "log_text",
    "set_experiment",
    "set_tag",
    "set_tags",
    "start_run",
]
