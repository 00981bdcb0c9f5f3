"""MLflow's REST wire shapes: pydantic models for request bodies, dicts for answers.

Field names follow ``mlflow/protos/service.proto``. Unknown fields are ignored (newer
MLflow clients send more than we read); ids arrive as strings, int64 values as JSON
numbers or numeric strings, doubles as numbers or ``"NaN"``/``"Infinity"``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from modelpack.tracking.entities import Experiment, Metric, Run, RunInfo

Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
Id = Annotated[StrictStr, Field(min_length=1, max_length=256)]
#: a run id as MLflow and modelpack make them (checked here, so no error quotes a bad one)
RunId = Annotated[StrictStr, Field(pattern=r"^[0-9a-f]{32}$")]
Text = Annotated[StrictStr, Field(max_length=1_000_000)]
#: an experiment id as the store makes them (a number): checked here, so no query ever
#: hands PostgreSQL's integer column a string it refuses (a 500 instead of a 400)
NumericId = Annotated[StrictStr, Field(pattern=r"^[0-9]{1,18}$")]
RunStatus = Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
ViewType = Literal["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]


class Wire(BaseModel):
    """Base of every request body: unknown fields ignored, nothing coerced to str."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class KeyValue(Wire):
    key: Id
    value: Text = ""


class MetricIn(Wire):
    key: Id
    value: float
    timestamp: Int64
    step: Int64 = 0
    #: MLflow 3 re-logs a run's points with the model they belong to (not stored)
    model_id: Annotated[StrictStr, Field(max_length=64)] | None = None


class CreateExperiment(Wire):
    name: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    artifact_location: Text | None = None
    tags: Annotated[list[KeyValue], Field(max_length=1000)] = []


class ExperimentId(Wire):
    experiment_id: NumericId


class ExperimentName(Wire):
    experiment_name: Annotated[StrictStr, Field(min_length=1, max_length=500)]


class SearchExperiments(Wire):
    max_results: Annotated[int, Field(ge=1, le=50_000)] = 1000
    filter: Text | None = None
    view_type: ViewType = "ACTIVE_ONLY"
    order_by: Annotated[list[Text], Field(max_length=100)] = []
    page_token: Text | None = None


class SetExperimentTag(ExperimentId):
    key: Id
    value: Text


class CreateRun(Wire):
    experiment_id: NumericId = "0"
    user_id: Text | None = None
    run_name: Text | None = None
    start_time: Int64 | None = None
    tags: Annotated[list[KeyValue], Field(max_length=1000)] = []


class RunRef(Wire):
    """A body that names one run (``run_uuid`` is MLflow's older name for ``run_id``)."""

    run_id: RunId | None = None
    run_uuid: RunId | None = None

    def the_run_id(self) -> str | None:
        """``run_id``, else ``run_uuid``, else None."""
        return self.run_id or self.run_uuid


class UpdateRun(RunRef):
    status: RunStatus | None = None
    end_time: Int64 | None = None
    run_name: Text | None = None


class LogMetric(RunRef):
    key: Id
    value: float
    timestamp: Int64
    step: Int64 = 0


class LogParam(RunRef):
    key: Id
    value: Text


class SetTag(RunRef):
    key: Id
    value: Text


class DeleteTag(RunRef):
    key: Id


class LogBatch(RunRef):
    metrics: Annotated[list[MetricIn], Field(max_length=1000)] = []
    params: Annotated[list[KeyValue], Field(max_length=100)] = []
    tags: Annotated[list[KeyValue], Field(max_length=100)] = []


class SearchRuns(Wire):
    experiment_ids: Annotated[list[NumericId], Field(max_length=1000)] = []
    filter: Text = ""
    run_view_type: ViewType = "ACTIVE_ONLY"
    max_results: Annotated[int, Field(ge=1, le=50_000)] = 1000
    order_by: Annotated[list[Text], Field(max_length=100)] = []
    page_token: Text | None = None


class GetMetricHistory(RunRef):
    metric_key: Id
    max_results: Annotated[int, Field(ge=1, le=25_000_000)] | None = None
    page_token: Text | None = None


# -- answers -------------------------------------------------------------------------


def _pairs(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in values.items()]


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    """An ``Experiment`` message."""
    return {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        # proxied: MLflow's client reads and writes artifacts through this server
        "artifact_location": f"mlflow-artifacts:/{experiment.experiment_id}",
        "lifecycle_stage": experiment.lifecycle_stage,
        "creation_time": experiment.creation_time,
        "last_update_time": experiment.last_update_time,
        "tags": _pairs(experiment.tags),
    }


def run_info_json(info: RunInfo, user_id: str = "") -> dict[str, Any]:
    """A ``RunInfo`` message."""
    out: dict[str, Any] = {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "user_id": user_id,
        "status": info.status,
        "start_time": info.start_time,
        "artifact_uri": f"mlflow-artifacts:/{info.experiment_id}/{info.run_id}/artifacts",
        "lifecycle_stage": info.lifecycle_stage,
    }
    if info.end_time is not None:
        out["end_time"] = info.end_time
    return out


def metric_json(metric: Metric) -> dict[str, Any]:
    """A ``Metric`` message (NaN and infinities as MLflow spells them in JSON)."""
    return {
        "key": metric.key,
        "value": json_double(metric.value),
        "timestamp": metric.timestamp,
        "step": metric.step,
    }


def json_double(value: float) -> float | str:
    """A double as proto3 JSON writes it: non-finite values become strings."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def run_json(run: Run) -> dict[str, Any]:
    """A ``Run`` message: info, data (latest metrics, params, tags) and empty inputs."""
    tags = run.data.tags
    return {
        "info": run_info_json(run.info, tags.get("mlflow.user", "")),
        "data": {
            # the store keeps the latest value per key; MLflow's Run carries that one too
            "metrics": [
                {"key": key, "value": json_double(value), "timestamp": 0, "step": 0}
                for key, value in run.data.metrics.items()
            ],
            "params": _pairs(run.data.params),
            "tags": _pairs(tags),
        },
        "inputs": {},
    }
