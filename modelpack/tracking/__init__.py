"""Tracking store and model registry: runs, params, metrics, artifacts, versions, URIs."""

from __future__ import annotations

from modelpack.tracking.client import Client, MlflowClient
from modelpack.tracking.config import get_tracking_uri, set_tracking_uri
from modelpack.tracking.entities import (
    Experiment,
    Metric,
    ModelInfo,
    ModelVersion,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
)
from modelpack.tracking.fluent import (
    ActiveRun,
    active_run,
    end_run,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    search_runs,
    set_experiment,
    set_tag,
    set_tags,
    start_run,
)
from modelpack.tracking.models import log_model_dir, register_model

__all__ = [
    "ActiveRun",
    "Client",
    "Experiment",
    "Metric",
    "MlflowClient",
    "ModelInfo",
    "ModelVersion",
    "RegisteredModel",
    "Run",
    "RunData",
    "RunInfo",
    "active_run",
    "end_run",
    "get_tracking_uri",
    "log_artifact",
    "log_artifacts",
    "log_dict",
    "log_figure",
    "log_metric",
    "log_metrics",
    "log_model_dir",
    "log_param",
    "log_params",
    "log_text",
    "register_model",
    "search_runs",
    "set_experiment",
    "set_tag",
    "set_tags",
    "set_tracking_uri",
    "start_run",
]
