"""The values the tracking store hands out: small frozen dataclasses, MLflow-shaped.

``run.info.run_id``, ``run.data.metrics``, ``version.current_stage`` read as they do
in MLflow, so code written against MLflow's entities keeps working.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


def now_ms() -> int:
    """The current time in epoch milliseconds, the unit of every timestamp here."""
    return time.time_ns() // 1_000_000


class PagedList(list[T]):
    """One page of a search: a list, and ``token`` for the next page (``None`` at the end),
    like MLflow's ``PagedList``."""

    def __init__(self, items: Any = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token


@dataclass(frozen=True)
class Experiment:
    """A named group of runs."""

    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunInfo:
    """Where a run lives and how it ended; times are epoch milliseconds."""

    run_id: str
    run_name: str
    experiment_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str
    parent_run_id: str | None = None

    @property
    def run_uuid(self) -> str:
        """MLflow's older name for :attr:`run_id`."""
        return self.run_id


@dataclass(frozen=True)
class RunData:
    """A run's params, latest metric values and tags."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """A run: ``run.info`` and ``run.data``."""

    info: RunInfo
    data: RunData


@dataclass(frozen=True)
class Metric:
    """One logged metric point."""

    key: str
    value: float
    timestamp: int
    step: int


@dataclass(frozen=True)
class ModelVersion:
    """One immutable, numbered version of a registered model."""

    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    description: str
    current_stage: str
    source: str
    run_id: str | None
    storage_location: str
    status: str = "READY"
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model name, its latest version per stage, tags and aliases."""

    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str
    latest_versions: tuple[ModelVersion, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` returns: where the model went and what it is."""

    model_uri: str
    run_id: str
    artifact_path: str
    registered_model_version: int | None
    flavors: dict[str, Any]
    signature: dict[str, Any] | None
    model_uuid: str | None


__all__ = [
    "now_ms",
    "Experiment",
    "Metric",
    "ModelInfo",
    "ModelVersion",
    "PagedList",
    "RegisteredModel",
    "Run",
    "RunData",
    "RunInfo",
]
