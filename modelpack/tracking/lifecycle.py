"""Deleting, restoring and renaming experiments and runs (MLflow's soft delete: a
deleted thing keeps its data and is hidden from searches until restored).

Functions take a :class:`~modelpack.tracking.stores.Store` and validated values, like
:mod:`modelpack.tracking.runs`.

>>> delete_run(store, run_id); restore_run(store, run_id)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

from modelpack.errors import AlreadyExists, NotFound
from modelpack.tracking.entities import Run
from modelpack.tracking.runs import load_runs, now_ms
from modelpack.tracking.search import order_runs, parse_filter
from modelpack.tracking.stores import IntegrityViolation, Store, Tx

#: MLflow's view types: which lifecycle stages a search sees
VIEWS = {"ACTIVE_ONLY": ("active",), "DELETED_ONLY": ("deleted",), "ALL": ("active", "deleted")}


def _set_run_stage(store: Store, run_id: str, stage: str) -> None:
    def work(conn: Tx) -> None:
        cursor = conn.execute(
            "UPDATE runs SET lifecycle_stage = ? WHERE run_id = ?", (stage, run_id)
        )
        if cursor.rowcount == 0:
            raise NotFound("no run with this id; check the id")

    store.write(work)


def delete_run(store: Store, run_id: str) -> None:
    """Mark a run deleted: hidden from searches, its data kept until it is restored."""
    _set_run_stage(store, run_id, "deleted")


def restore_run(store: Store, run_id: str) -> None:
    """Bring a deleted run back."""
    _set_run_stage(store, run_id, "active")


def _set_experiment_stage(store: Store, experiment_id: int, stage: str) -> None:
    def work(conn: Tx) -> None:
        cursor = conn.execute(
            "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? "
            "WHERE experiment_id = ?",
            (stage, now_ms(), experiment_id),
        )
        if cursor.rowcount == 0:
            raise NotFound("no experiment with this id; check the id")
        # as in MLflow: an experiment's runs go (and come back) with it
        conn.execute(
            "UPDATE runs SET lifecycle_stage = ? WHERE experiment_id = ?", (stage, experiment_id)
        )

    store.write(work)


def delete_experiment(store: Store, experiment_id: int) -> None:
    """Mark an experiment and its runs deleted (restorable)."""
    _set_experiment_stage(store, experiment_id, "deleted")


def restore_experiment(store: Store, experiment_id: int) -> None:
    """Bring a deleted experiment and its runs back."""
    _set_experiment_stage(store, experiment_id, "active")


def rename_experiment(store: Store, experiment_id: int, new_name: str) -> None:
    """Give an experiment a new (unused) name."""

    def work(conn: Tx) -> None:
        try:
            cursor = conn.execute(
                "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
                (new_name, now_ms(), experiment_id),
            )
        except IntegrityViolation:
            raise AlreadyExists("an experiment with this name already exists") from None
        if cursor.rowcount == 0:
            raise NotFound("no experiment with this id; check the id")

    store.write(work)


def rename_run(store: Store, run_id: str, new_name: str) -> None:
    """Give a run a new name (MLflow keeps it in the ``mlflow.runName`` tag too)."""

    def work(conn: Tx) -> None:
        cursor = conn.execute("UPDATE runs SET run_name = ? WHERE run_id = ?", (new_name, run_id))
        if cursor.rowcount == 0:
            raise NotFound("no run with this id; check the id")
        conn.execute("DELETE FROM tags WHERE run_id = ? AND key = 'mlflow.runName'", (run_id,))
        conn.execute("INSERT INTO tags VALUES (?, 'mlflow.runName', ?)", (run_id, new_name))

    store.write(work)


def search_runs_in_view(
    store: Store,
    experiment_ids: Sequence[str] | None,
    filter_string: str = "",
    order_by: Sequence[str] | None = None,
    max_results: int = 1000,
    view: str = "ACTIVE_ONLY",
) -> list[Run]:
    """Like :meth:`Client.search_runs <modelpack.tracking.Client.search_runs>`, over the
    runs of MLflow's view type ``view`` (``ACTIVE_ONLY``, ``DELETED_ONLY`` or ``ALL``)."""
    stages = VIEWS[view]
    where = f"lifecycle_stage IN ({','.join('?' * len(stages))})"
    params: list[object] = list(stages)
    if experiment_ids is not None:
        where += f" AND experiment_id IN ({','.join('?' * len(experiment_ids))})"
        params += [int(i) for i in experiment_ids]
    keep = parse_filter(filter_string)
    found = [run for run in load_runs(store, where, params) if keep(run)]
    return order_runs(found, order_by)[: max(0, int(max_results))]


__all__ = [
    "VIEWS",
    "delete_experiment",
    "delete_run",
    "rename_experiment",
    "rename_run",
    "restore_experiment",
    "restore_run",
    "search_runs_in_view",
]
