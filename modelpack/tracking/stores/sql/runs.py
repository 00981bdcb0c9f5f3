"""Experiments and runs in a store: create, log, read.

Functions here take a :class:`~modelpack.tracking.stores.Store` and already
validated values; the fluent API and :class:`~modelpack.tracking.client.Client`
validate at the edge and call them.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from modelpack.errors import AlreadyExists, InvalidInput, NotFound
from modelpack.tracking.entities import Experiment, Metric, Run, RunData, RunInfo, now_ms
from modelpack.tracking.stores.sql.artifacts import artifact_store, run_artifact_key
from modelpack.tracking.stores.sql.engine import IntegrityViolation, Store, Tx

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
PARENT_RUN_TAG = "mlflow.parentRunId"
#: (key, value, timestamp ms, step)
MetricRow = tuple[str, float, int, int]

_INSERT_METRIC = "INSERT INTO metrics (run_id, key, value, timestamp, step) VALUES (?, ?, ?, ?, ?)"


# -- experiments ---------------------------------------------------------------------


def _experiment(store: Store, row: Any) -> Experiment:
    experiment_id = str(row.experiment_id)
    tags = store.read(
        "SELECT key, value FROM experiment_tags WHERE experiment_id = ?", (row.experiment_id,)
    )
    return Experiment(
        experiment_id=experiment_id,
        name=row.name,
        artifact_location=artifact_store(store).uri_of(experiment_id),
        lifecycle_stage=row.lifecycle_stage,
        creation_time=row.creation_time,
        last_update_time=row.last_update_time,
        tags={tag.key: tag.value for tag in tags},
    )


def create_experiment(store: Store, name: str, tags: Mapping[str, str] | None = None) -> str:
    """Create experiment ``name``; return its id. ``AlreadyExists`` if the name is taken."""

    def work(conn: Tx) -> str:
        stamp = now_ms()
        try:
            cursor = conn.execute(
                "INSERT INTO experiments (name, creation_time, last_update_time) VALUES (?, ?, ?) "
                "RETURNING experiment_id",
                (name, stamp, stamp),
            )
        except IntegrityViolation:
            raise AlreadyExists(
                f"experiment '{name}' already exists; use set_experiment to reuse it"
            ) from None
        experiment_id = cursor.scalar()
        conn.executemany(
            "INSERT INTO experiment_tags VALUES (?, ?, ?)",
            [(experiment_id, key, value) for key, value in (tags or {}).items()],
        )
        return str(experiment_id)

    return store.write(work)


def get_experiment(store: Store, experiment_id: str) -> Experiment:
    """The experiment with id ``experiment_id``, or ``NotFound``."""
    rows = store.read("SELECT * FROM experiments WHERE experiment_id = ?", (experiment_id,))
    if not rows:
        raise NotFound(
            f"no experiment with id '{experiment_id}'; list them with search_experiments"
        )
    return _experiment(store, rows[0])


def get_experiment_by_name(store: Store, name: str) -> Experiment | None:
    """The experiment called ``name``, or ``None``."""
    rows = store.read("SELECT * FROM experiments WHERE name = ?", (name,))
    return _experiment(store, rows[0]) if rows else None


def get_or_create_experiment(store: Store, name: str) -> Experiment:
    """The experiment called ``name``, created if missing (safe under concurrency)."""
    found = get_experiment_by_name(store, name)
    if found is not None:
        return found
    stamp = now_ms()
    store.write(
        lambda conn: conn.execute(
            "INSERT INTO experiments (name, creation_time, last_update_time) "
            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (name, stamp, stamp),
        )
    )
    found = get_experiment_by_name(store, name)
    if found is None:  # pragma: no cover - the row was just written
        raise NotFound(f"experiment '{name}' vanished while being created")
    return found


#: the experiment columns a search may order by: checked names only reach the SQL
_EXPERIMENT_ORDER = ("name", "experiment_id", "creation_time", "last_update_time")


def search_experiments(
    store: Store,
    stages: Sequence[str] = ("active",),
    order_by: Sequence[tuple[str, bool]] = (),
    limit: int | None = None,
    offset: int = 0,
) -> list[Experiment]:
    """Experiments in ``stages``, ordered by ``(column, ascending)`` pairs (then by id,
    if they leave ties); ``limit`` of them (all if None) after ``offset``."""
    terms = []
    for column, ascending in order_by:
        if column not in _EXPERIMENT_ORDER:
            raise InvalidInput(f"experiments cannot be ordered by this column: {column!r}")
        terms.append(f"{column} {'ASC' if ascending else 'DESC'}")
    if all(column != "experiment_id" for column, _ in order_by):
        terms.append("experiment_id ASC")
    marks = ", ".join("?" for _ in stages)
    sql = (
        f"SELECT * FROM experiments WHERE lifecycle_stage IN ({marks}) ORDER BY {', '.join(terms)}"
    )
    params: list[object] = list(stages)
    if limit is not None or offset:
        sql += " LIMIT ? OFFSET ?"
        params += [limit if limit is not None else 2**62, offset]
    return [_experiment(store, row) for row in store.read(sql, params)]


# -- runs ----------------------------------------------------------------------------


def create_run(
    store: Store,
    experiment_id: str,
    run_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    parent_run_id: str | None = None,
) -> Run:
    """Start a new RUNNING run in ``experiment_id``."""
    run_id = uuid.uuid4().hex
    name = run_name or f"run-{run_id[:8]}"
    all_tags = dict(tags or {})
    if parent_run_id:
        all_tags[PARENT_RUN_TAG] = parent_run_id

    def work(conn: Tx) -> None:
        if not conn.execute(
            "SELECT 1 FROM experiments WHERE experiment_id = ? AND lifecycle_stage = 'active'",
            (experiment_id,),
        ).fetchone():
            raise NotFound(f"no active experiment with id '{experiment_id}'")
        conn.execute(
            "INSERT INTO runs (run_id, experiment_id, run_name, status, start_time, parent_run_id)"
            " VALUES (?, ?, ?, 'RUNNING', ?, ?)",
            (run_id, experiment_id, name, now_ms(), parent_run_id),
        )
        conn.executemany(
            "INSERT INTO tags VALUES (?, ?, ?)", [(run_id, k, v) for k, v in all_tags.items()]
        )

    store.write(work)
    return get_run(store, run_id)


def _run_info(store: Store, row: Any) -> RunInfo:
    experiment_id = str(row.experiment_id)
    return RunInfo(
        run_id=row.run_id,
        run_name=row.run_name,
        experiment_id=experiment_id,
        status=row.status,
        start_time=row.start_time,
        end_time=row.end_time,
        artifact_uri=artifact_store(store).uri_of(run_artifact_key(experiment_id, row.run_id)),
        lifecycle_stage=row.lifecycle_stage,
        parent_run_id=row.parent_run_id,
    )


def _metric_value(value: float | None) -> float:
    return math.nan if value is None else float(value)


def load_runs(store: Store, where: str, params: Sequence[object]) -> list[Run]:
    """Runs matching the SQL condition ``where`` on table ``runs``, with all their data."""
    rows = store.read(f"SELECT * FROM runs WHERE {where}", params)
    if not rows:
        return []
    subquery = f"SELECT run_id FROM runs WHERE {where}"
    data: dict[str, RunData] = {row.run_id: RunData() for row in rows}
    for kv in store.read(
        f"SELECT run_id, key, value FROM params WHERE run_id IN ({subquery})", params
    ):
        data[kv.run_id].params[kv.key] = kv.value
    for kv in store.read(
        f"SELECT run_id, key, value FROM tags WHERE run_id IN ({subquery})", params
    ):
        data[kv.run_id].tags[kv.key] = kv.value
    # Each (run, key)'s latest point is one walk down the metrics_by_run index, not a
    # sort of every point: a run with a 100,000-point metric reads in ~10 ms, not ~200 ms.
    latest = (
        "SELECT k.run_id AS run_id, k.key AS key, (SELECT m.value FROM metrics m "
        "WHERE m.run_id = k.run_id AND m.key = k.key "
        "ORDER BY m.step DESC, m.timestamp DESC, m.value DESC NULLS FIRST LIMIT 1) AS value "
        f"FROM (SELECT DISTINCT run_id, key FROM metrics WHERE run_id IN ({subquery})) AS k"
    )
    for kv in store.read(latest, params):
        data[kv.run_id].metrics[kv.key] = _metric_value(kv.value)
    return [Run(_run_info(store, row), data[row.run_id]) for row in rows]


def get_run(store: Store, run_id: str) -> Run:
    """The run ``run_id`` with its params, latest metrics and tags, or ``NotFound``."""
    found = load_runs(store, "run_id = ?", (run_id,))
    if not found:
        raise NotFound(f"no run with id '{run_id}' in {store.location.tracking_uri}")
    return found[0]


def set_terminated(store: Store, run_id: str, status: str, end_time: int | None = None) -> None:
    """Mark ``run_id`` ended with ``status``."""
    if status not in RUN_STATUSES:
        raise InvalidInput(f"run status must be one of {', '.join(RUN_STATUSES)}")

    def work(conn: Tx) -> None:
        cursor = conn.execute(
            "UPDATE runs SET status = ?, end_time = ? WHERE run_id = ?",
            (status, end_time if end_time is not None else now_ms(), run_id),
        )
        if cursor.rowcount == 0:
            raise NotFound(f"no run with id '{run_id}'")

    store.write(work)


def reopen_run(store: Store, run_id: str) -> None:
    """Mark an ended run RUNNING again (``start_run(run_id=...)``)."""
    cursor = store.execute(
        "UPDATE runs SET status = 'RUNNING', end_time = NULL WHERE run_id = ?", (run_id,)
    )
    if cursor.rowcount == 0:
        raise NotFound(f"no run with id '{run_id}'")


def log_metric(
    store: Store, run_id: str, key: str, value: float, timestamp: int, step: int
) -> None:
    """Append one metric point: a single autocommitted INSERT, the per-call fast path."""
    stored = None if math.isnan(value) else value
    point = (run_id, key, stored, timestamp, step)

    def landed() -> tuple[int] | None:
        # the point, if it committed before its answer was lost; an identical point
        # logged before counts as this one (MLflow keeps one of identical points too)
        found = store.read(
            "SELECT 1 FROM metrics WHERE run_id = ? AND key = ? AND value IS NOT DISTINCT "
            "FROM ? AND timestamp = ? AND step = ? LIMIT 1",
            point,
        )
        return (1,) if found else None

    try:
        store.execute_once(_INSERT_METRIC, point, landed)
    except IntegrityViolation:
        raise NotFound(f"no run with id '{run_id}'; start a run before logging") from None


def log_batch(
    store: Store,
    run_id: str,
    metrics: Iterable[MetricRow] = (),
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Log metrics, params and tags in one transaction (all or nothing).

    A param is immutable: logging a different value for an existing key is refused.
    """
    metric_rows = [
        (run_id, key, None if math.isnan(value) else value, stamp, step)
        for key, value, stamp, step in metrics
    ]
    params = params or {}

    def work(conn: Tx) -> None:
        if not conn.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
            raise NotFound(f"no run with id '{run_id}'; start a run before logging")
        for key, value in params.items():
            old = conn.execute(
                "SELECT value FROM params WHERE run_id = ? AND key = ?", (run_id, key)
            ).fetchone()
            if old is not None and old[0] != value:
                raise InvalidInput(
                    f"param '{key}' of run '{run_id}' was already logged with another value; "
                    "params are immutable — log it under a new key or use a tag"
                )
        conn.executemany(
            "INSERT INTO params VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [(run_id, k, v) for k, v in params.items()],
        )
        conn.executemany(
            "INSERT INTO tags VALUES (?, ?, ?) "
            "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
            [(run_id, k, v) for k, v in (tags or {}).items()],
        )
        conn.executemany(_INSERT_METRIC, metric_rows)

    store.write(work)


def delete_tag(store: Store, run_id: str, key: str) -> None:
    """Remove tag ``key`` from ``run_id`` (``NotFound`` if it is not set)."""

    def work(conn: Tx) -> None:
        cursor = conn.execute("DELETE FROM tags WHERE run_id = ? AND key = ?", (run_id, key))
        if cursor.rowcount == 0:
            raise NotFound(f"run '{run_id}' has no tag '{key}'")

    store.write(work)


def get_metric_history(store: Store, run_id: str, key: str) -> list[Metric]:
    """Every point of metric ``key`` in ``run_id``, by step then time."""
    return [Metric(key, v, t, s) for v, t, s in metric_points(store, run_id, key)]


def metric_points(store: Store, run_id: str, key: str) -> list[tuple[float, int, int]]:
    """``(value, timestamp, step)`` of every point of ``key`` in ``run_id``, by step then
    time (a NaN stored as NULL comes back as NaN): no object per point."""
    rows = store.read_tuples(
        "SELECT value, timestamp, step FROM metrics WHERE run_id = ? AND key = ? "
        f"ORDER BY step, timestamp{', rowid' if store.dialect == 'sqlite' else ''}",
        (run_id, key),
    )
    nan = math.nan
    return [(nan if v is None else float(v), t, s) for v, t, s in rows]


__all__ = [
    "PARENT_RUN_TAG",
    "RUN_STATUSES",
    "create_experiment",
    "create_run",
    "delete_tag",
    "get_experiment",
    "get_experiment_by_name",
    "get_metric_history",
    "metric_points",
    "get_or_create_experiment",
    "get_run",
    "load_runs",
    "log_batch",
    "log_metric",
    "now_ms",
    "reopen_run",
    "search_experiments",
    "set_terminated",
]
