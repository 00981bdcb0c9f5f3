"""The embedded (SQL) :class:`~modelpack.tracking.stores.base.TrackingStore`: a thin layer that
hands each operation to the module functions of ``runs``, ``registry``, ``registry_edit`` and
``run_artifacts``, which do the work on a :class:`~modelpack.tracking.stores.Store`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from modelpack.tracking.entities import Experiment, Metric, ModelVersion, RegisteredModel, Run
from modelpack.tracking.snapshots.digest import remove_tree
from modelpack.tracking.stores.base import RUN_VIEW_TYPES, MetricRow
from modelpack.tracking.stores.sql import (
    lifecycle,
    registry,
    registry_edit,
    registry_read,
    run_artifacts,
    runs,
)
from modelpack.tracking.stores.sql import resolve as sql_resolve
from modelpack.tracking.stores.sql import search as search_sql
from modelpack.tracking.stores.sql.artifacts import artifact_store, staging_path
from modelpack.tracking.stores.sql.engine import Store, os_errors
from modelpack.tracking.stores.sql.run_page import RunPage, search_run_page


class SqlTrackingStore:
    """The tracking store of a directory, ``sqlite:///`` or ``postgresql://`` URI."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.display = store.location.display or store.location.tracking_uri

    def __repr__(self) -> str:
        return f"<SqlTrackingStore {self.display}>"

    # -- experiments ---------------------------------------------------------------

    def create_experiment(self, name: str, tags: Mapping[str, str]) -> str:
        return runs.create_experiment(self.store, name, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return runs.get_experiment(self.store, experiment_id)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return runs.get_experiment_by_name(self.store, name)

    def get_or_create_experiment(self, name: str) -> Experiment:
        return runs.get_or_create_experiment(self.store, name)

    def search_experiments(
        self,
        view_type: str = "ACTIVE_ONLY",
        order_by: Sequence[tuple[str, bool]] = (),
        max_results: int | None = None,
        offset: int = 0,
    ) -> list[Experiment]:
        stages = RUN_VIEW_TYPES[view_type]
        return runs.search_experiments(self.store, stages, order_by, max_results, offset)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        lifecycle.set_experiment_tag(self.store, int(experiment_id), key, value)

    def delete_experiment(self, experiment_id: str) -> None:
        lifecycle.delete_experiment(self.store, int(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        lifecycle.restore_experiment(self.store, int(experiment_id))

    # -- runs ----------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        run_name: str | None,
        tags: Mapping[str, str],
        parent_run_id: str | None,
    ) -> Run:
        return runs.create_run(self.store, experiment_id, run_name, tags, parent_run_id)

    def get_run(self, run_id: str) -> Run:
        return runs.get_run(self.store, run_id)

    def set_terminated(self, run_id: str, status: str, end_time: int | None) -> None:
        runs.set_terminated(self.store, run_id, status, end_time)

    def reopen_run(self, run_id: str) -> None:
        runs.reopen_run(self.store, run_id)

    def delete_run(self, run_id: str) -> None:
        lifecycle.delete_run(self.store, run_id)

    def restore_run(self, run_id: str) -> None:
        lifecycle.restore_run(self.store, run_id)

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        runs.log_metric(self.store, run_id, key, value, timestamp, step)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricRow],
        params: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> None:
        runs.log_batch(self.store, run_id, list(metrics), dict(params), dict(tags))

    def delete_tag(self, run_id: str, key: str) -> None:
        runs.delete_tag(self.store, run_id, key)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return runs.get_metric_history(self.store, run_id, key)

    def get_metric_points(self, run_id: str, key: str) -> list[tuple[float, int, int]]:
        return runs.metric_points(self.store, run_id, key)

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None,
        filter_string: str,
        order_by: Sequence[str] | None,
        max_results: int,
        offset: int,
        run_view_type: str,
    ) -> list[Run]:
        return search_sql.search_runs(
            self.store, experiment_ids, filter_string, order_by, max_results, offset,
            RUN_VIEW_TYPES[run_view_type],
        )  # fmt: skip

    def search_runs_page(
        self,
        experiment_ids: Sequence[str],
        filter_string: str,
        order_by: Sequence[str] | None,
        offset: int,
        max_results: int,
    ) -> RunPage:
        """One page of matching runs and how many matched (what the runs table shows)."""
        return search_run_page(
            self.store, experiment_ids, filter_string, order_by, offset, max_results
        )

    # -- run artifacts -------------------------------------------------------------

    def log_artifact(self, run_id: str, local_path: Path, artifact_path: str | None) -> None:
        run_artifacts.log_artifact(self.store, run_id, local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: Path, artifact_path: str | None) -> None:
        run_artifacts.log_artifacts(self.store, run_id, local_dir, artifact_path)

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None:
        run_artifacts.log_bytes(self.store, run_id, data, artifact_file)

    def list_artifacts(self, run_id: str, path: str | None) -> list[str]:
        return run_artifacts.list_artifacts(self.store, run_id, path)

    def staging_path(self) -> Path:
        root = staging_path(self.store)
        with os_errors(root):
            root.mkdir(parents=True)
        return root

    def place_model(self, run_id: str, staged: Path, artifact_path: str) -> None:
        target = f"{run_artifacts.artifact_prefix_of(self.store, run_id)}/{artifact_path}"
        artifact_store(self.store).put_tree(staged, target)

    def discard_staging(self, staged_root: Path) -> None:
        remove_tree(staged_root)

    # -- URIs ----------------------------------------------------------------------

    def resolve_models_uri(self, uri: str, verify: bool) -> tuple[str, int, Path]:
        return sql_resolve.resolve_models_uri(uri, self.store, verify=verify)

    def resolve_store_uri(self, uri: str) -> Path:
        return sql_resolve.resolve_store_uri(uri, self.store)

    # -- registry ------------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Mapping[str, str], description: str
    ) -> RegisteredModel:
        return registry.create_registered_model(self.store, name, tags, description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return registry_read.get_registered_model(self.store, name)

    def search_registered_models(
        self, name: str | None, name_like: str | None
    ) -> list[RegisteredModel]:
        return registry_read.search_registered_models(self.store, name=name, name_like=name_like)

    def rename_registered_model(self, name: str, new_name: str) -> None:
        registry_edit.rename_registered_model(self.store, name, new_name)

    def update_registered_model(self, name: str, description: str) -> None:
        registry_edit.update_registered_model(self.store, name, description)

    def delete_registered_model(self, name: str) -> None:
        registry_edit.delete_registered_model(self.store, name)

    def set_model_tag(self, name: str, key: str, value: str, version: int | None) -> None:
        registry_edit.set_model_tag(self.store, name, key, value, version)

    def delete_model_tag(self, name: str, key: str, version: int | None) -> None:
        registry_edit.delete_model_tag(self.store, name, key, version)

    def create_model_version(
        self,
        name: str,
        model_dir: Path,
        source: str,
        run_id: str | None,
        tags: Mapping[str, str],
        description: str,
        create_model: bool,
    ) -> ModelVersion:
        return registry.create_model_version(
            self.store, name, model_dir, source, run_id, tags, description, create_model
        )

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        return registry_read.get_model_version(self.store, name, version)

    def search_model_versions(self, name: str | None, run_id: str | None) -> list[ModelVersion]:
        return registry_read.search_model_versions(self.store, name=name, run_id=run_id)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None) -> list[ModelVersion]:
        return registry_read.get_latest_versions(self.store, name, list(stages) if stages else None)

    def update_model_version(self, name: str, version: int, description: str) -> None:
        registry_edit.update_model_version(self.store, name, version, description)

    def delete_model_version(self, name: str, version: int) -> None:
        registry_edit.delete_model_version(self.store, name, version)

    def transition_model_version_stage(
        self, name: str, version: int, stage: str, archive_existing_versions: bool
    ) -> None:
        registry_edit.transition_model_version_stage(
            self.store, name, version, stage, archive_existing_versions
        )

    def set_alias(self, name: str, alias: str, version: int) -> None:
        registry_edit.set_alias(self.store, name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        registry_edit.delete_alias(self.store, name, alias)

    def version_for_alias(self, name: str, alias: str) -> int:
        return registry_read.version_for_alias(self.store, name, alias)


__all__ = ["SqlTrackingStore"]
