"""Deleting, restoring, renaming and tagging experiments and runs (MLflow's soft delete:
a deleted thing keeps its data and is hidden from searches until restored).

Functions take a :class:`~modelpack.tracking.stores.Store` and validated values, like
:mod:`modelpack.tracking.stores.sql.runs`.

>>> delete_run(store, run_id); restore_run(store, run_id)  # doctest: +SKIP
"""

from __future__ import annotations

from modelpack.errors import AlreadyExists, InvalidInput, NotFound
from modelpack.tracking.stores.sql.engine import IntegrityViolation, Store, Tx
from modelpack.tracking.stores.sql.runs import now_ms

#: MLflow's view types: which lifecycle stages a search sees


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


def set_experiment_tag(store: Store, experiment_id: int, key: str, value: str) -> None:
    """Set (or replace) one tag of an active experiment."""

    def work(conn: Tx) -> None:
        found = conn.execute(
            "SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?", (experiment_id,)
        ).fetchall()
        if not found:
            raise NotFound("no experiment with this id; check the id")
        if found[0][0] != "active":
            raise InvalidInput(
                "the experiment is deleted; restore it with restore_experiment before tagging it"
            )
        conn.execute(
            "DELETE FROM experiment_tags WHERE experiment_id = ? AND key = ?", (experiment_id, key)
        )
        conn.execute("INSERT INTO experiment_tags VALUES (?, ?, ?)", (experiment_id, key, value))

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


__all__ = [
    "delete_experiment",
    "delete_run",
    "rename_experiment",
    "rename_run",
    "restore_experiment",
    "restore_run",
    "set_experiment_tag",
]
