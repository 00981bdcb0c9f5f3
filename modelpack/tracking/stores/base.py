"""``TrackingStore``: the one interface :class:`~modelpack.tracking.Client` and the fluent API
talk to. The URI picks the implementation (:func:`open_tracking_store`): the SQL store for a
directory, ``sqlite:///`` or ``postgresql://``; the REST client for ``http(s)://``.

Arguments arrive validated (``Client`` checks names, keys and values first), so an
implementation only stores and fetches; both raise the typed errors of
:mod:`modelpack.errors` for the same situations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from modelpack.tracking.entities import Experiment, Metric, ModelVersion, RegisteredModel, Run

#: one metric point as ``log_batch`` takes it: (key, value, timestamp ms, step)
MetricRow = tuple[str, float, int, int]

HTTP_SCHEMES = ("http://", "https://")
#: MLflow's run view types, and the lifecycle stages each one shows
RUN_VIEW_TYPES = {
    "ACTIVE_ONLY": ("active",),
    "DELETED_ONLY": ("deleted",),
    "ALL": ("active", "deleted"),
}


class TrackingStore(Protocol):
    """Experiments, runs, run artifacts and the model registry of one tracking URI."""

    #: where the store is, safe to print (no password)
    display: str

    # -- experiments ---------------------------------------------------------------
    def create_experiment(self, name: str, tags: Mapping[str, str]) -> str: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...
    def get_or_create_experiment(self, name: str) -> Experiment: ...
    def search_experiments(
        self,
        view_type: str = "ACTIVE_ONLY",
        order_by: Sequence[tuple[str, bool]] = (),
        max_results: int | None = None,
        offset: int = 0,
    ) -> list[Experiment]:
        """Experiments in ``view_type``'s stages, ordered by ``(column, ascending)`` pairs
        (then by id), ``max_results`` of them (all if None) after the first ``offset``."""
        ...

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def restore_experiment(self, experiment_id: str) -> None: ...

    # -- runs ----------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        run_name: str | None,
        tags: Mapping[str, str],
        parent_run_id: str | None,
    ) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def set_terminated(self, run_id: str, status: str, end_time: int | None) -> None: ...
    def reopen_run(self, run_id: str) -> None: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> None: ...
    def log_metric(
        self, run_id: str, key: str, value: float, timestamp: int, step: int
    ) -> None: ...
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricRow],
        params: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> None: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]: ...
    def get_metric_points(self, run_id: str, key: str) -> list[tuple[float, int, int]]:
        """``(value, timestamp, step)`` of each point, by step then time, no object per point."""
        ...

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None,
        filter_string: str,
        order_by: Sequence[str] | None,
        max_results: int,
        offset: int,
        run_view_type: str,
    ) -> list[Run]: ...

    # -- run artifacts -------------------------------------------------------------
    def log_artifact(self, run_id: str, local_path: Path, artifact_path: str | None) -> None: ...
    def log_artifacts(self, run_id: str, local_dir: Path, artifact_path: str | None) -> None: ...
    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None: ...
    def list_artifacts(self, run_id: str, path: str | None) -> list[str]: ...
    def staging_path(self) -> Path:
        """A fresh path (not yet created) where a model may be written before it is placed."""
        ...

    def place_model(self, run_id: str, staged: Path, artifact_path: str) -> None:
        """Move the finished model directory ``staged`` into the run at ``artifact_path``."""
        ...

    def discard_staging(self, staged_root: Path) -> None: ...

    # -- URIs ----------------------------------------------------------------------
    def resolve_models_uri(self, uri: str, verify: bool) -> tuple[str, int, Path]:
        """(name, version, local directory) of a ``models:/`` URI."""
        ...

    def resolve_store_uri(self, uri: str) -> Path:
        """The local directory of a ``runs:/`` or ``models:/`` URI."""
        ...

    # -- registry ------------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: Mapping[str, str], description: str
    ) -> RegisteredModel: ...
    def get_registered_model(self, name: str) -> RegisteredModel: ...
    def search_registered_models(
        self, name: str | None, name_like: str | None
    ) -> list[RegisteredModel]: ...
    def rename_registered_model(self, name: str, new_name: str) -> None: ...
    def update_registered_model(self, name: str, description: str) -> None: ...
    def delete_registered_model(self, name: str) -> None: ...
    def set_model_tag(self, name: str, key: str, value: str, version: int | None) -> None: ...
    def delete_model_tag(self, name: str, key: str, version: int | None) -> None: ...
    def create_model_version(
        self,
        name: str,
        model_dir: Path,
        source: str,
        run_id: str | None,
        tags: Mapping[str, str],
        description: str,
        create_model: bool,
    ) -> ModelVersion: ...
    def get_model_version(self, name: str, version: int) -> ModelVersion: ...
    def search_model_versions(self, name: str | None, run_id: str | None) -> list[ModelVersion]: ...
    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None
    ) -> list[ModelVersion]: ...
    def update_model_version(self, name: str, version: int, description: str) -> None: ...
    def delete_model_version(self, name: str, version: int) -> None: ...
    def transition_model_version_stage(
        self, name: str, version: int, stage: str, archive_existing_versions: bool
    ) -> None: ...
    def set_alias(self, name: str, alias: str, version: int) -> None: ...
    def delete_alias(self, name: str, alias: str) -> None: ...
    def version_for_alias(self, name: str, alias: str) -> int: ...


def is_http_uri(uri: str) -> bool:
    """True for a tracking server URI (``http://`` or ``https://``)."""
    return uri.lower().startswith(HTTP_SCHEMES)


__all__ = ["HTTP_SCHEMES", "RUN_VIEW_TYPES", "MetricRow", "TrackingStore", "is_http_uri"]
