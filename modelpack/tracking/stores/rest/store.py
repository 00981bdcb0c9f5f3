"""The REST :class:`~modelpack.tracking.stores.base.TrackingStore`: a tracking server
(``modelpack server`` or ``mlflow server``) spoken to over MLflow's REST API.

>>> store = rest_store("http://127.0.0.1:5000")  # doctest: +SKIP
>>> store.get_experiment("0").name  # doctest: +SKIP
'Default'
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelpack.errors import AlreadyExists, InvalidURI, ModelNotFound, NotFound
from modelpack.tracking.artifact_stores.root import cache_dir
from modelpack.tracking.entities import Experiment, Metric, Run, now_ms
from modelpack.tracking.names import check_artifact_path
from modelpack.tracking.snapshots.cache import cached_version, replace_dir
from modelpack.tracking.stores.base import MetricRow
from modelpack.tracking.stores.rest import artifacts as files
from modelpack.tracking.stores.rest import wire
from modelpack.tracking.stores.rest.http import HttpSession, json_number, session_for
from modelpack.tracking.stores.rest.registry import RestRegistry
from modelpack.tracking.stores.rest.server_url import server_url
from modelpack.tracking.uri_forms import parse_models_uri, parse_runs_uri

#: MLflow's limits per log-batch request
_BATCH_METRICS, _BATCH_PARAMS, _BATCH_TAGS = 1000, 100, 100
_PAGE = 1000


class RestTrackingStore(RestRegistry):
    """Experiments, runs, artifacts and the registry of one tracking server."""

    def __init__(self, http: HttpSession) -> None:
        self.http = http
        self.display = http.url.base

    def __repr__(self) -> str:
        return f"<RestTrackingStore {self.display}>"

    # -- experiments ---------------------------------------------------------------

    def create_experiment(self, name: str, tags: Mapping[str, str]) -> str:
        body = {"name": name, "tags": wire.tag_list(tags)}
        return str(self.http.call("POST", "/experiments/create", body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        answer = self.http.call("GET", "/experiments/get", {"experiment_id": experiment_id})
        return wire.experiment(answer.get("experiment") or {})

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            answer = self.http.call("GET", "/experiments/get-by-name", {"experiment_name": name})
        except NotFound:
            return None
        return wire.experiment(answer.get("experiment") or {})

    def get_or_create_experiment(self, name: str) -> Experiment:
        found = self.get_experiment_by_name(name)
        if found is not None:
            return found
        try:
            return self.get_experiment(self.create_experiment(name, {}))
        except AlreadyExists:  # another client created it meanwhile
            again = self.get_experiment_by_name(name)
            if again is None:
                raise
            return again

    def search_experiments(
        self,
        view_type: str = "ACTIVE_ONLY",
        order_by: Sequence[tuple[str, bool]] = (),
        max_results: int | None = None,
        offset: int = 0,
    ) -> list[Experiment]:
        # the server orders; its page tokens are its own (opaque on MLflow's): an offset
        # is reached by reading past it
        wanted = None if max_results is None else offset + max_results
        # ties by id, as the SQL store (the client's order names experiment_id already)
        terms = [f"{column} {'ASC' if asc else 'DESC'}" for column, asc in order_by]
        if all(column != "experiment_id" for column, _ in order_by):
            terms.append("experiment_id ASC")
        found: list[Experiment] = []
        token: str | None = None
        while wanted is None or len(found) < wanted:
            size = _PAGE if wanted is None else min(_PAGE, wanted - len(found))
            body = {
                "max_results": size,
                "page_token": token,
                "view_type": view_type,
                "order_by": terms,
            }
            answer = self.http.call("POST", "/experiments/search", body)
            found.extend(wire.experiment(e) for e in answer.get("experiments") or [])
            token = answer.get("next_page_token") or None
            if not isinstance(token, str):
                break
        return found[offset:wanted]

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        body = {"experiment_id": experiment_id, "key": key, "value": value}
        self.http.call("POST", "/experiments/set-experiment-tag", body)

    def delete_experiment(self, experiment_id: str) -> None:
        self.http.call("POST", "/experiments/delete", {"experiment_id": experiment_id})

    def restore_experiment(self, experiment_id: str) -> None:
        self.http.call("POST", "/experiments/restore", {"experiment_id": experiment_id})

    # -- runs ----------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        run_name: str | None,
        tags: Mapping[str, str],
        parent_run_id: str | None,
    ) -> Run:
        all_tags = dict(tags)
        if parent_run_id:
            all_tags[wire.PARENT_RUN_TAG] = parent_run_id
        body = {
            "experiment_id": experiment_id,
            "run_name": run_name,
            "start_time": now_ms(),
            "tags": wire.tag_list(all_tags),
        }
        return wire.run(self.http.call("POST", "/runs/create", body).get("run") or {})

    def get_run(self, run_id: str) -> Run:
        return wire.run(self.http.call("GET", "/runs/get", {"run_id": run_id}).get("run") or {})

    def set_terminated(self, run_id: str, status: str, end_time: int | None) -> None:
        body = {"run_id": run_id, "status": status, "end_time": end_time or now_ms()}
        self.http.call("POST", "/runs/update", body)

    def reopen_run(self, run_id: str) -> None:
        self.http.call("POST", "/runs/update", {"run_id": run_id, "status": "RUNNING"})

    def delete_run(self, run_id: str) -> None:
        self.http.call("POST", "/runs/delete", {"run_id": run_id})

    def restore_run(self, run_id: str) -> None:
        self.http.call("POST", "/runs/restore", {"run_id": run_id})

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        body = {"run_id": run_id, "key": key, "value": value, "timestamp": timestamp, "step": step}
        self.http.call("POST", "/runs/log-metric", body)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[MetricRow],
        params: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> None:
        metric_list = [
            {"key": k, "value": json_number(v), "timestamp": t, "step": s} for k, v, t, s in metrics
        ]
        param_list, tag_list = wire.tag_list(params), wire.tag_list(tags)
        first = True  # an empty batch is still sent: it fails for a run that does not exist
        while first or metric_list or param_list or tag_list:
            first = False
            body = {
                "run_id": run_id,
                "metrics": metric_list[:_BATCH_METRICS],
                "params": param_list[:_BATCH_PARAMS],
                "tags": tag_list[:_BATCH_TAGS],
            }
            self.http.call("POST", "/runs/log-batch", body)
            metric_list = metric_list[_BATCH_METRICS:]
            param_list, tag_list = param_list[_BATCH_PARAMS:], tag_list[_BATCH_TAGS:]

    def delete_tag(self, run_id: str, key: str) -> None:
        self.http.call("POST", "/runs/delete-tag", {"run_id": run_id, "key": key})

    def get_metric_points(self, run_id: str, key: str) -> list[tuple[float, int, int]]:
        # the server sends the history: the points are read from it
        return [(m.value, m.timestamp, m.step) for m in self.get_metric_history(run_id, key)]

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        found: list[Metric] = []
        token: str | None = None
        while True:
            body = {"run_id": run_id, "metric_key": key, "max_results": 25000, "page_token": token}
            answer = self.http.call("GET", "/metrics/get-history", body)
            found.extend(wire.metric(m) for m in answer.get("metrics") or [])
            token = answer.get("next_page_token") or None
            if not isinstance(token, str):
                return sorted(found, key=lambda m: (m.step, m.timestamp))

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None,
        filter_string: str,
        order_by: Sequence[str] | None,
        max_results: int,
        offset: int,
        run_view_type: str,
    ) -> list[Run]:
        if experiment_ids is None:
            experiment_ids = [e.experiment_id for e in self.search_experiments()]
        # page tokens are the server's own (opaque on MLflow's): skip by reading past them
        found: list[Run] = []
        token: str | None = None
        max_results += offset
        while len(found) < max_results and experiment_ids:
            body: dict[str, Any] = {
                "experiment_ids": list(experiment_ids),
                "filter": filter_string or None,
                "order_by": list(order_by or []),
                "max_results": min(_PAGE, max_results - len(found)),
                "run_view_type": run_view_type,
                "page_token": token,
            }
            answer = self.http.call("POST", "/runs/search", body)
            found.extend(wire.run(r) for r in answer.get("runs") or [])
            token = answer.get("next_page_token") or None
            if not isinstance(token, str):
                break
        return found[offset : max(offset, max_results)]

    # -- run artifacts -------------------------------------------------------------

    def _root(self, run_id: str) -> str:
        return files.proxy_path(self.get_run(run_id).info.artifact_uri, self.http.where)

    def log_artifact(self, run_id: str, local_path: Path, artifact_path: str | None) -> None:
        if not local_path.is_file():
            raise NotFound(f"no file at '{local_path}' to log; pass the path of an existing file")
        target = f"{check_artifact_path(artifact_path)}/" if artifact_path else ""
        files.upload_file(self.http, self._root(run_id), local_path, target + local_path.name)

    def log_artifacts(self, run_id: str, local_dir: Path, artifact_path: str | None) -> None:
        if not local_dir.is_dir():
            raise NotFound(f"no directory at '{local_dir}' to log; pass an existing directory")
        under = check_artifact_path(artifact_path) if artifact_path else None
        files.upload_tree(self.http, self._root(run_id), local_dir, under)

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> None:
        files.upload_bytes(self.http, self._root(run_id), data, artifact_file)

    def list_artifacts(self, run_id: str, path: str | None) -> list[str]:
        return [p for p, _ in files.list_tree(self.http, self._root(run_id), path)]

    def staging_path(self) -> Path:
        return files.fresh_staging()

    def place_model(self, run_id: str, staged: Path, artifact_path: str) -> None:
        root = self._root(run_id)
        if files.list_tree(self.http, root, artifact_path):
            raise AlreadyExists(
                f"artifact '{artifact_path}' already exists in this run; log under another name"
            )
        files.upload_tree(self.http, root, staged, artifact_path)

    def discard_staging(self, staged_root: Path) -> None:
        shutil.rmtree(staged_root, ignore_errors=True)

    # -- URIs ----------------------------------------------------------------------

    def _version_json(self, uri: str) -> dict[str, Any]:
        name, kind, value = parse_models_uri(uri)
        if kind == "version":
            return self.version_json(name, int(value))
        if kind == "alias":
            return self.alias_json(name, value)
        stages = [value] if kind == "stage" else None
        body = {"name": name, "stages": stages}
        answer = self.http.call(
            "POST", "/registered-models/get-latest-versions", body, missing=ModelNotFound
        )
        found = [v for v in answer.get("model_versions") or [] if isinstance(v, dict)]
        if not found:
            what = f"no version in stage '{value}'" if kind == "stage" else "no versions yet"
            raise ModelNotFound(f"registered model '{name}' has {what}")
        return max(found, key=lambda v: int(v.get("version") or 0))

    def _download_uri(self, name: str, version: int) -> tuple[str, str | None]:
        """The proxy root and path below it where a version's files are."""
        body = {"name": name, "version": str(version)}
        answer = self.http.call(
            "GET", "/model-versions/get-download-uri", body, missing=ModelNotFound
        )
        uri = str(answer.get("artifact_uri") or "")
        if uri.startswith("runs:"):
            run_id, path = parse_runs_uri(uri)
            return self._root(run_id), path
        return files.proxy_path(uri, self.http.where), None

    def resolve_models_uri(self, uri: str, verify: bool) -> tuple[str, int, Path]:
        # ``verify`` is moot here: a download is always checked before it is used
        found = self._version_json(uri)
        name, version = str(found.get("name")), int(found.get("version") or 0)

        def fetch(target: Path) -> None:
            root, under = self._download_uri(name, version)
            fresh = files.download_tree(self.http, root, under, target.parent)[0]
            try:
                fresh.rename(target)
            finally:
                shutil.rmtree(fresh, ignore_errors=True)  # gone unless the rename failed

        origin = f"the tracking server {self.http.where}"
        return name, version, cached_version(name, version, wire.digest_of(found), fetch, origin)

    def resolve_store_uri(self, uri: str) -> Path:
        if uri.startswith("models:"):
            return self.resolve_models_uri(uri, True)[2]
        if not uri.startswith("runs:"):
            raise InvalidURI("expected a runs:/ or models:/ URI")
        run_id, path = parse_runs_uri(uri)
        try:
            root = self._root(run_id)
        except NotFound:
            raise ModelNotFound(
                f"no run '{run_id}' on the tracking server {self.http.where}; "
                "check MODELPACK_TRACKING_URI"
            ) from None
        parent = cache_dir() / "runs" / run_id
        parent.mkdir(parents=True, exist_ok=True)
        try:
            fresh, single = files.download_tree(self.http, root, path, parent)
        except NotFound:
            raise files.artifact_missing(run_id, path) from None
        # runs' artifacts can change: each resolution downloads them again
        target = replace_dir(fresh, parent / (path or "artifacts").replace("/", "__"))
        return target / path.rsplit("/", 1)[-1] if single and path else target


def rest_store(uri: str) -> RestTrackingStore:
    """The REST store for the tracking server at ``uri`` (sessions are shared per process)."""
    return RestTrackingStore(session_for(server_url(uri)))


__all__ = ["RestTrackingStore", "rest_store"]
