"""MLflow's REST JSON to modelpack's entities (the same frozen dataclasses the SQL store
returns), read defensively: a field the server left out gets its empty value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelpack.tracking.entities import (
    Experiment,
    Metric,
    ModelVersion,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
)

PARENT_RUN_TAG = "mlflow.parentRunId"
#: the version tag that carries the manifest digest of the registered files
DIGEST_TAG = "modelpack.content_digest"


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _float(value: Any) -> float:
    try:
        return float(value)  # "NaN" and "Infinity" are how protobuf JSON writes those
    except (TypeError, ValueError):
        return float("nan")


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def key_values(items: Any) -> dict[str, str]:
    """``[{"key": k, "value": v}, ...]`` as a dict."""
    if not isinstance(items, list):
        return {}
    return {
        item["key"]: _str(item.get("value"))
        for item in items
        if isinstance(item, dict) and isinstance(item.get("key"), str)
    }


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """A dict as MLflow's list of ``{"key", "value"}``."""
    return [{"key": k, "value": v} for k, v in tags.items()]


def experiment(data: dict[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=_str(data.get("experiment_id")),
        name=_str(data.get("name")),
        artifact_location=_str(data.get("artifact_location")),
        lifecycle_stage=_str(data.get("lifecycle_stage")) or "active",
        creation_time=_int(data.get("creation_time")),
        last_update_time=_int(data.get("last_update_time")),
        tags=key_values(data.get("tags")),
    )


def metric(data: dict[str, Any]) -> Metric:
    return Metric(
        key=_str(data.get("key")),
        value=_float(data.get("value")),
        timestamp=_int(data.get("timestamp")),
        step=_int(data.get("step")),
    )


def run(data: dict[str, Any]) -> Run:
    info, body = data.get("info") or {}, data.get("data") or {}
    tags = key_values(body.get("tags"))
    metrics = {
        m["key"]: _float(m.get("value"))
        for m in body.get("metrics") or []
        if isinstance(m, dict) and isinstance(m.get("key"), str)
    }
    end = info.get("end_time")
    return Run(
        info=RunInfo(
            run_id=_str(info.get("run_id") or info.get("run_uuid")),
            run_name=_str(info.get("run_name")) or tags.get("mlflow.runName", ""),
            experiment_id=_str(info.get("experiment_id")),
            status=_str(info.get("status")) or "RUNNING",
            start_time=_int(info.get("start_time")),
            end_time=None if end is None else _int(end),
            artifact_uri=_str(info.get("artifact_uri")),
            lifecycle_stage=_str(info.get("lifecycle_stage")) or "active",
            parent_run_id=tags.get(PARENT_RUN_TAG),
        ),
        data=RunData(params=key_values(body.get("params")), metrics=metrics, tags=tags),
    )


def model_version(data: dict[str, Any]) -> ModelVersion:
    tags = key_values(data.get("tags"))
    tags.pop(DIGEST_TAG, None)  # ours, for the download cache; the SQL store keeps it apart too
    aliases = data.get("aliases")
    return ModelVersion(
        name=_str(data.get("name")),
        version=_int(data.get("version")),
        creation_timestamp=_int(data.get("creation_timestamp")),
        last_updated_timestamp=_int(data.get("last_updated_timestamp")),
        description=_str(data.get("description")),
        current_stage=_str(data.get("current_stage")) or "None",
        source=_str(data.get("source")),
        run_id=_str(data.get("run_id")) or None,
        storage_location=_str(data.get("storage_location")) or _str(data.get("source")),
        status=_str(data.get("status")) or "READY",
        tags=tags,
        aliases=tuple(a for a in aliases if isinstance(a, str))
        if isinstance(aliases, list)
        else (),
    )


def digest_of(data: dict[str, Any]) -> str | None:
    """The manifest digest recorded on a version at registration, if it has one."""
    found = key_values(data.get("tags")).get(DIGEST_TAG)
    hexadecimal = found is not None and all(c in "0123456789abcdef" for c in found)
    return found if hexadecimal and found is not None and len(found) == 64 else None


def registered_model(data: dict[str, Any]) -> RegisteredModel:
    aliases = {
        a["alias"]: _int(a.get("version"))
        for a in data.get("aliases") or []
        if isinstance(a, dict) and isinstance(a.get("alias"), str)
    }
    latest = sorted(
        (model_version(v) for v in data.get("latest_versions") or [] if isinstance(v, dict)),
        key=lambda v: v.version,
    )
    return RegisteredModel(
        name=_str(data.get("name")),
        creation_timestamp=_int(data.get("creation_timestamp")),
        last_updated_timestamp=_int(data.get("last_updated_timestamp")),
        description=_str(data.get("description")),
        latest_versions=tuple(latest),
        tags=key_values(data.get("tags")),
        aliases=aliases,
    )


__all__ = [
    "DIGEST_TAG",
    "PARENT_RUN_TAG",
    "digest_of",
    "experiment",
    "key_values",
    "metric",
    "model_version",
    "registered_model",
    "run",
    "tag_list",
]
