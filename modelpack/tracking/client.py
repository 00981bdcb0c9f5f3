"""``Client``: the tracking store and model registry by id and name, MLflow's method names.

>>> from modelpack import Client
>>> client = Client("sqlite:////tmp/store.db")  # doctest: +SKIP
>>> client.transition_model_version_stage("iris", 3, "production", archive_existing_versions=True)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import posixpath
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack.errors import InvalidInput, StoreError
from modelpack.tracking.artifact_bytes import dict_bytes, figure_bytes, table_bytes
from modelpack.tracking.config import check_registry_uri, get_tracking_uri
from modelpack.tracking.entities import (
    Experiment,
    Metric,
    PagedList,
    Run,
    now_ms,
)
from modelpack.tracking.experiment_search import (
    check_max_results,
    experiment_filter,
    offset_of_token,
    parse_experiment_order,
    view_type_name,
)
from modelpack.tracking.names import (
    MAX_PARAM_VALUE_LENGTH,
    check_artifact_path,
    check_experiment_id,
    check_experiment_name,
    check_key,
    check_metric_value,
    check_run_id,
    check_step,
    check_tags,
    check_value,
)
from modelpack.tracking.registry_client import RegistryClient
from modelpack.tracking.search import parse_filter
from modelpack.tracking.stores.backend import open_tracking_store
from modelpack.tracking.stores.base import RUN_VIEW_TYPES, TrackingStore

#: MLflow's run tag listing the tables (``log_table``) a run holds
LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"

if TYPE_CHECKING:
    from modelpack.tracking.stores.sql.engine import Store
    from modelpack.tracking.stores.sql.run_page import RunPage


class Client(RegistryClient):
    """Read and change one tracking store (the current one unless ``tracking_uri`` says).

    >>> client = Client()  # doctest: +SKIP
    >>> client.get_model_version("iris", 1).current_stage  # doctest: +SKIP
    'None'
    """

    def __init__(
        self,
        tracking_uri: str | os.PathLike[str] | None = None,
        registry_uri: str | os.PathLike[str] | None = None,
    ) -> None:
        uri = os.fspath(tracking_uri) if tracking_uri is not None else get_tracking_uri()
        if registry_uri is not None:  # MLflow's; the registry is in the tracking store here
            check_registry_uri(registry_uri, uri)
        #: the store behind this client, chosen by the URI (SQL or a tracking server)
        self.backend: TrackingStore = open_tracking_store(uri)
        self.tracking_uri = uri

    def __repr__(self) -> str:
        return f"<Client {self.backend.display}>"

    @property
    def store(self) -> Store:
        """The embedded SQL store (``StoreError`` for a tracking server, which has none here)."""
        found: Store | None = getattr(self.backend, "store", None)
        if found is None:
            raise StoreError(
                f"the tracking store {self.backend.display} is a server: it has no local "
                "database; use the Client methods"
            )
        return found

    # -- experiments ---------------------------------------------------------------

    def create_experiment(self, name: str, tags: Mapping[str, Any] | None = None) -> str:
        """Create an experiment; return its id."""
        return self.backend.create_experiment(check_experiment_name(name), check_tags(tags))

    def get_experiment(self, experiment_id: str) -> Experiment:
        """The experiment with this id (``NotFound`` otherwise)."""
        return self.backend.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """The experiment with this name, or ``None``."""
        return self.backend.get_experiment_by_name(check_experiment_name(name))

    def search_experiments(
        self,
        view_type: int | str = "ACTIVE_ONLY",
        max_results: int | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        """Experiments in ``view_type`` (``ACTIVE_ONLY``/1, ``DELETED_ONLY``/2, ``ALL``/3),
        ordered by ``order_by`` entries over name, experiment_id, creation_time and
        last_update_time (newest first by default, as MLflow); ``max_results`` of them (all if None),
        from ``page_token``; the answer's ``token`` names the next page.

        >>> Client().search_experiments(order_by=["last_update_time DESC"], max_results=10)  # doctest: +SKIP
        """
        keep = experiment_filter(filter_string)
        view = view_type_name(view_type)
        order = parse_experiment_order(order_by)
        size, offset = check_max_results(max_results), offset_of_token(page_token)
        if keep is None:
            ask = None if size is None else size + 1  # one more: whether another page exists
            found = self.backend.search_experiments(view, order, ask, offset)
        else:  # experiments are few: filter them all here, then page
            matched = [e for e in self.backend.search_experiments(view, order, None, 0) if keep(e)]
            found = matched[offset : None if size is None else offset + size + 1]
        if size is None or len(found) <= size:
            return PagedList(found)
        return PagedList(found[:size], str(offset + size))

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        """Set (or replace) one tag of an experiment."""
        tags = check_tags({key: value})
        self.backend.set_experiment_tag(check_experiment_id(experiment_id), key, tags[key])

    def delete_experiment(self, experiment_id: str) -> None:
        """Mark an experiment and its runs deleted (kept until restored)."""
        self.backend.delete_experiment(check_experiment_id(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        """Bring a deleted experiment and its runs back."""
        self.backend.restore_experiment(check_experiment_id(experiment_id))

    # -- runs ----------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
    ) -> Run:
        """Start a RUNNING run (use :func:`modelpack.start_run` for the fluent form)."""
        if run_name is not None:
            run_name = check_value(run_name, "run name", 250)
        if parent_run_id is not None:
            check_run_id(parent_run_id)
        return self.backend.create_run(
            str(experiment_id), run_name, check_tags(tags), parent_run_id
        )

    def get_run(self, run_id: str) -> Run:
        """The run with its params, latest metrics and tags."""
        return self.backend.get_run(check_run_id(run_id))

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted: hidden from searches, its data kept until restored."""
        self.backend.delete_run(check_run_id(run_id))

    def restore_run(self, run_id: str) -> None:
        """Bring a deleted run back."""
        self.backend.restore_run(check_run_id(run_id))

    def set_terminated(
        self, run_id: str, status: str = "FINISHED", end_time: int | None = None
    ) -> None:
        """End a run with ``status`` (FINISHED, FAILED or KILLED)."""
        self.backend.set_terminated(check_run_id(run_id), status, end_time)

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        """Log one param (immutable once logged); returns ``value``."""
        self.log_batch(run_id, params={key: value})
        return value

    def log_metric(
        self,
        run_id: str,
        key: str,
        value: float,
        timestamp: int | None = None,
        step: int | None = None,
    ) -> None:
        """Append one metric point (NaN and infinities are kept)."""
        check_key(key, "metric key")
        self.backend.log_metric(
            check_run_id(run_id),
            key,
            check_metric_value(value, key),
            timestamp if timestamp is not None else now_ms(),
            check_step(step),
        )

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Log metrics, params and tags in one transaction."""
        rows = [
            (
                check_key(m.key, "metric key"),
                check_metric_value(m.value, m.key),
                int(m.timestamp),
                check_step(m.step),
            )
            for m in metrics
        ]
        clean_params = {
            check_key(k, "param key"): check_value(v, f"param '{k}'", MAX_PARAM_VALUE_LENGTH)
            for k, v in (params or {}).items()
        }
        self.backend.log_batch(check_run_id(run_id), rows, clean_params, check_tags(tags))

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        """Set (or replace) one run tag."""
        self.log_batch(run_id, tags={key: value})

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove one run tag."""
        self.backend.delete_tag(check_run_id(run_id), check_key(key, "tag key"))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every logged point of one metric, by step."""
        return self.backend.get_metric_history(check_run_id(run_id), check_key(key, "metric key"))

    def get_metric_points(self, run_id: str, key: str) -> list[tuple[float, int, int]]:
        """``(value, timestamp ms, step)`` of every point of a metric, by step then time:
        :meth:`get_metric_history` without an object per point, for 100,000-point charts.
        """
        return self.backend.get_metric_points(check_run_id(run_id), check_key(key, "metric key"))

    def search_runs(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str = "",
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        offset: int = 0,
        run_view_type: str = "ACTIVE_ONLY",
    ) -> list[Run]:
        """Runs of ``experiment_ids`` (all, if None) that match ``filter_string``;
        ``max_results`` of them, skipping the first ``offset``. ``run_view_type`` is
        MLflow's: ``ACTIVE_ONLY``, ``DELETED_ONLY`` or ``ALL``.

        >>> Client().search_runs(["0"], "metrics.rmse < 1", ["metrics.rmse ASC"])  # doctest: +SKIP
        """
        ids = None if experiment_ids is None else [str(i) for i in experiment_ids]
        parse_filter(filter_string)  # a malformed filter fails here, for every store
        if run_view_type not in RUN_VIEW_TYPES:
            raise InvalidInput(
                f"run_view_type must be one of {', '.join(RUN_VIEW_TYPES)}, got '{run_view_type}'"
            )
        return self.backend.search_runs(
            ids, filter_string, order_by, int(max_results), max(0, int(offset)), run_view_type
        )

    def search_runs_page(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        order_by: Sequence[str] | None = None,
        offset: int = 0,
        max_results: int = 100,
    ) -> RunPage:
        """One page of :meth:`search_runs`'s answer and the number of runs that matched.

        Cheap on big experiments: the database filters, orders, counts and pages;
        only the page's runs are loaded. Embedded (SQL) stores only.

        >>> Client().search_runs_page(["0"], "", ["metrics.rmse"], offset=50, max_results=50)  # doctest: +SKIP
        """
        search_page = getattr(self.backend, "search_runs_page", None)
        if search_page is None:
            raise StoreError(
                f"the tracking store {self.backend.display} is a server: page through "
                "search_runs(max_results=..., offset=...) instead"
            )
        page: RunPage = search_page(
            experiment_ids, filter_string, order_by, int(offset), int(max_results)
        )
        return page

    # -- run artifacts -------------------------------------------------------------

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copy a file into the run's artifacts."""
        self.backend.log_artifact(check_run_id(run_id), Path(local_path), artifact_path)

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None
    ) -> None:
        """Copy a directory's files into the run's artifacts."""
        self.backend.log_artifacts(check_run_id(run_id), Path(local_dir), artifact_path)

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        """Save ``dictionary`` as JSON (or YAML for .yaml/.yml) in the run's artifacts."""
        data = dict_bytes(dictionary, artifact_file)
        self.backend.log_bytes(check_run_id(run_id), data, artifact_file)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """Save ``text`` as a UTF-8 file in the run's artifacts."""
        self.backend.log_bytes(check_run_id(run_id), text.encode(), artifact_file)

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        """Save a dict of columns or a DataFrame as MLflow's table JSON in the run's
        artifacts; a table already at ``artifact_file`` gets the new rows appended."""
        run_id, path = check_run_id(run_id), check_artifact_path(artifact_file, "artifact file")
        existing = None
        if path in self.list_artifacts(run_id, posixpath.dirname(path) or None):
            existing = self.download_artifacts(run_id, path).read_bytes()
        self.backend.log_bytes(run_id, table_bytes(data, path, existing), path)
        logged = _json_list(self.get_run(run_id).data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
        entry = {"path": path, "type": "table"}
        if entry not in logged:  # MLflow's UI lists a run's tables from this tag
            self.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps([*logged, entry]))

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        """Save a matplotlib figure (format from the file name) in the run's artifacts."""
        data = figure_bytes(figure, artifact_file)
        self.backend.log_bytes(check_run_id(run_id), data, artifact_file)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[str]:
        """Relative paths of the run's artifact files."""
        return self.backend.list_artifacts(check_run_id(run_id), path)

    def download_artifacts(self, run_id: str, path: str = "") -> Path:
        """The local path of a run artifact (read in place from a local store, else downloaded)."""
        return self.backend.resolve_store_uri(f"runs:/{check_run_id(run_id)}/{path}")


def _json_list(text: str) -> list[Any]:
    try:
        found = json.loads(text)
    except ValueError:
        return []
    return found if isinstance(found, list) else []


#: MLflow's name for the same client, for code ported from ``mlflow.MlflowClient``
MlflowClient = Client

__all__ = ["Client", "MlflowClient"]
