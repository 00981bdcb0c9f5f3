"""The tracking endpoints of MLflow's REST API (``/api/2.0/mlflow/...``), on the public
:class:`modelpack.tracking.Client`. Each handler takes a validated body, returns the
JSON answer, and raises modelpack's typed errors for the caller's mistakes."""

from __future__ import annotations

from typing import Any

from modelpack.errors import InvalidInput, NotFound
from modelpack.server import wire
from modelpack.server.endpoint import Endpoint, Permission
from modelpack.tracking.client import Client
from modelpack.tracking.entities import Metric
from modelpack.tracking.names import check_value
from modelpack.tracking.search import parse_filter
from modelpack.tracking.stores.sql.lifecycle import rename_run

PREFIX = "/api/2.0/mlflow"
_BAD_SEARCH = (
    "filter or order_by could not be read: write comparisons such as metrics.rmse < 1, "
    "params.depth = '3', tags.team IN ('x', 'y') or attributes.status = 'FINISHED' joined "
    "with AND and OR, and order_by entries such as 'metrics.rmse ASC'"
)
_READ_METHODS = ("GET", "POST")


def _run_id(body: wire.RunRef) -> str:
    run_id = body.the_run_id()
    if run_id is None:
        raise InvalidInput("missing value for required parameter 'run_id'; name the run")
    return run_id


def offset_of(page_token: str | None) -> int:
    if not page_token:
        return 0
    if not page_token.isdigit() or len(page_token) > 12:
        raise InvalidInput("page_token must be a token this server returned; omit it to start")
    return int(page_token)


def page(items: list[Any], offset: int, size: int) -> tuple[list[Any], str | None]:
    chunk = items[offset : offset + size]
    more = offset + size < len(items)
    return chunk, str(offset + size) if more else None


def experiment_of(client: Client, body: object) -> str | None:
    """The experiment a request acts on (for grants), or None: not one experiment's
    request (create, search), or one that names nothing that exists."""
    try:
        if isinstance(body, (wire.ExperimentId, wire.CreateRun)):
            return body.experiment_id
        if isinstance(body, wire.ExperimentName):
            found = client.get_experiment_by_name(body.experiment_name)
            return found.experiment_id if found else None
        if isinstance(body, wire.RunRef) and body.the_run_id():
            return client.get_run(_run_id(body)).info.experiment_id
    except (InvalidInput, NotFound):
        return None
    return None


# -- experiments ---------------------------------------------------------------------


def create_experiment(client: Client, body: wire.CreateExperiment) -> dict[str, Any]:
    if body.artifact_location:
        raise InvalidInput(
            "artifact_location is chosen by the server (--artifacts-destination); omit it"
        )
    tags = {tag.key: tag.value for tag in body.tags}
    return {"experiment_id": client.create_experiment(body.name, tags)}


def get_experiment(client: Client, body: wire.ExperimentId) -> dict[str, Any]:
    return {"experiment": wire.experiment_json(client.get_experiment(body.experiment_id))}


def get_experiment_by_name(client: Client, body: wire.ExperimentName) -> dict[str, Any]:
    found = client.get_experiment_by_name(body.experiment_name)
    if found is None:
        raise NotFound("no experiment with this name; create it first")
    return {"experiment": wire.experiment_json(found)}


def search_experiments(client: Client, body: wire.SearchExperiments) -> dict[str, Any]:
    found = client.search_experiments(
        body.view_type, body.max_results, body.filter, body.order_by, body.page_token
    )
    out: dict[str, Any] = {"experiments": [wire.experiment_json(e) for e in found]}
    if found.token:
        out["next_page_token"] = found.token
    return out


def set_experiment_tag(client: Client, body: wire.SetExperimentTag) -> dict[str, Any]:
    client.set_experiment_tag(body.experiment_id, body.key, body.value)
    return {}


# -- runs ----------------------------------------------------------------------------


def create_run(client: Client, body: wire.CreateRun) -> dict[str, Any]:
    tags = {tag.key: tag.value for tag in body.tags}
    if body.user_id and "mlflow.user" not in tags:
        tags["mlflow.user"] = body.user_id
    run_name = body.run_name or tags.get("mlflow.runName") or None
    parent = tags.get("mlflow.parentRunId") or None
    run = client.create_run(body.experiment_id, run_name, tags, parent)
    return {"run": wire.run_json(run)}


def get_run(client: Client, body: wire.RunRef) -> dict[str, Any]:
    return {"run": wire.run_json(client.get_run(_run_id(body)))}


def update_run(client: Client, body: wire.UpdateRun) -> dict[str, Any]:
    run_id = _run_id(body)
    if body.run_name and body.run_name != client.get_run(run_id).info.run_name:
        rename_run(client.store, run_id, check_value(body.run_name, "run name", 250))
    if body.status is not None and body.status != "RUNNING":
        client.set_terminated(run_id, body.status, body.end_time)
    run = client.get_run(run_id)
    return {"run_info": wire.run_info_json(run.info, run.data.tags.get("mlflow.user", ""))}


def log_metric(client: Client, body: wire.LogMetric) -> dict[str, Any]:
    client.log_metric(_run_id(body), body.key, body.value, body.timestamp, body.step)
    return {}


def log_param(client: Client, body: wire.LogParam) -> dict[str, Any]:
    client.log_param(_run_id(body), body.key, body.value)
    return {}


def set_tag(client: Client, body: wire.SetTag) -> dict[str, Any]:
    client.set_tag(_run_id(body), body.key, body.value)
    return {}


def delete_tag(client: Client, body: wire.DeleteTag) -> dict[str, Any]:
    client.delete_tag(_run_id(body), body.key)
    return {}


def log_batch(client: Client, body: wire.LogBatch) -> dict[str, Any]:
    points = body.metrics
    if any(m.model_id for m in points):
        # MLflow 3's log_model re-sends the run's points at the model's step, tagged with
        # the model; like MLflow's store, a point already logged is not logged twice
        run_id = _run_id(body)
        keys = {m.key for m in points if m.model_id}
        seen = {
            (p.key, p.value, p.timestamp, p.step)
            for key in keys
            for p in client.get_metric_history(run_id, key)
        }
        points = [m for m in points if (m.key, m.value, m.timestamp, m.step) not in seen]
    metrics = [Metric(m.key, m.value, m.timestamp, m.step) for m in points]
    params = {p.key: p.value for p in body.params}
    tags = {t.key: t.value for t in body.tags}
    client.log_batch(_run_id(body), metrics, params, tags)
    return {}


def search_runs(client: Client, body: wire.SearchRuns) -> dict[str, Any]:
    offset = offset_of(body.page_token)
    try:
        parse_filter(body.filter)
    except InvalidInput as err:
        # the grammar's messages name the position and what was expected, never the text
        raise InvalidInput(err.message) from None
    try:
        # one more than the page: whether a next page exists, without counting
        found = client.search_runs(
            body.experiment_ids or None,
            body.filter,
            body.order_by,
            body.max_results + 1,
            offset=offset,
            run_view_type=body.run_view_type,
        )
    except InvalidInput:
        # the parser's message quotes the expression that came; this one does not
        raise InvalidInput(_BAD_SEARCH) from None
    chunk = found[: body.max_results]
    token = str(offset + body.max_results) if len(found) > body.max_results else None
    out: dict[str, Any] = {"runs": [wire.run_json(run) for run in chunk]}
    if token:
        out["next_page_token"] = token
    return out


def get_metric_history(client: Client, body: wire.GetMetricHistory) -> dict[str, Any]:
    run_id = _run_id(body)
    client.get_run(run_id)  # NotFound for an unknown run, as MLflow answers
    points = client.get_metric_history(run_id, body.metric_key)
    size = body.max_results or len(points) or 1
    chunk, token = page(points, offset_of(body.page_token), size)
    out: dict[str, Any] = {"metrics": [wire.metric_json(p) for p in chunk]}
    if token:
        out["next_page_token"] = token
    return out


def _endpoint(
    path: str,
    methods: tuple[str, ...],
    body: Any,
    permission: Permission,
    handler: Any,
    missing: str = "",
) -> Endpoint:
    if missing:
        return Endpoint(PREFIX + path, methods, body, permission, handler, missing)
    return Endpoint(PREFIX + path, methods, body, permission, handler)


_NO_EXPERIMENT = "no active experiment with this experiment_id; check the id"


READ, EDIT = Permission.READ, Permission.EDIT

#: every tracking endpoint this server answers, with the permission each needs
# fmt: off
ENDPOINTS: tuple[Endpoint, ...] = (
    _endpoint("/experiments/create", ("POST",), wire.CreateExperiment, EDIT, create_experiment),
    _endpoint("/experiments/get", ("GET",), wire.ExperimentId, READ, get_experiment,
              _NO_EXPERIMENT),
    _endpoint("/experiments/get-by-name", ("GET",), wire.ExperimentName, READ,
              get_experiment_by_name, "no experiment with this name; create it first"),
    _endpoint(
        "/experiments/search", _READ_METHODS, wire.SearchExperiments, READ, search_experiments
    ),
    _endpoint("/experiments/set-experiment-tag", ("POST",), wire.SetExperimentTag, EDIT,
              set_experiment_tag, _NO_EXPERIMENT),
    _endpoint("/runs/create", ("POST",), wire.CreateRun, EDIT, create_run, _NO_EXPERIMENT),
    _endpoint("/runs/get", ("GET",), wire.RunRef, READ, get_run),
    _endpoint("/runs/update", ("POST",), wire.UpdateRun, EDIT, update_run),
    _endpoint("/runs/log-metric", ("POST",), wire.LogMetric, EDIT, log_metric),
    _endpoint("/runs/log-parameter", ("POST",), wire.LogParam, EDIT, log_param),
    _endpoint("/runs/set-tag", ("POST",), wire.SetTag, EDIT, set_tag),
    _endpoint("/runs/delete-tag", ("POST",), wire.DeleteTag, EDIT, delete_tag),
    _endpoint("/runs/log-batch", ("POST",), wire.LogBatch, EDIT, log_batch),
    _endpoint("/runs/search", ("POST",), wire.SearchRuns, READ, search_runs),
    _endpoint("/metrics/get-history", ("GET",), wire.GetMetricHistory, READ, get_metric_history),
)
# fmt: on
