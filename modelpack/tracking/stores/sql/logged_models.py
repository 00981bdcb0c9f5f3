"""MLflow 3 logged models in the store: a model logged from a run, with its own id
(``m-<32 hex>``), artifacts, params and tags, before or without registration.

Functions take a :class:`~modelpack.tracking.stores.Store` and validated values, like
:mod:`modelpack.tracking.stores.sql.runs`. A logged model's files live beside its experiment's
runs: ``<artifact root>/<experiment id>/models/<model id>/artifacts``.

>>> model = create_logged_model(store, "1", "model", source_run_id=run_id)  # doctest: +SKIP
>>> finalize_logged_model(store, model.model_id, "READY").status  # doctest: +SKIP
'READY'
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelpack.errors import InvalidInput, NotFound
from modelpack.tracking.stores.sql.engine import Store, Tx
from modelpack.tracking.stores.sql.runs import get_experiment, now_ms

STATUSES = ("PENDING", "READY", "UPLOAD_FAILED")
MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")
_CLAUSE = re.compile(
    r"^\s*(?:attributes\.)?(?P<key>name|source_run_id|status)\s*=\s*(?P<q>['\"])(?P<value>[^'\"]*)"
    r"(?P=q)\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class LoggedModel:
    """One logged model: where it came from, its state, params and tags."""

    model_id: str
    experiment_id: str
    name: str
    model_type: str
    source_run_id: str | None
    status: str
    creation_time: int
    last_updated_time: int
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def logged_model_key(experiment_id: str, model_id: str) -> str:
    """The artifact key prefix holding a logged model's files (written lazily by clients)."""
    return f"{experiment_id}/models/{model_id}/artifacts"


def _no_model() -> NotFound:
    return NotFound("no logged model with this id; check the id (models:/m-...)")


def _check_id(model_id: str) -> str:
    if not MODEL_ID.match(model_id):
        raise _no_model()
    return model_id


def create_logged_model(
    store: Store,
    experiment_id: str,
    name: str,
    model_type: str = "",
    source_run_id: str | None = None,
    params: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> LoggedModel:
    """Record a new PENDING logged model in ``experiment_id`` (``NotFound`` if absent)."""
    experiment = get_experiment(store, experiment_id)
    model_id = f"m-{uuid.uuid4().hex}"

    def work(conn: Tx) -> int:
        stamp = now_ms()
        conn.execute(
            "INSERT INTO logged_models (model_id, experiment_id, name, model_type, "
            "source_run_id, status, creation_time, last_updated_time) "
            "VALUES (?, ?, ?, ?, ?, 'PENDING', ?, ?)",
            (model_id, int(experiment.experiment_id), name, model_type, source_run_id,
             stamp, stamp),
        )  # fmt: skip
        _put(conn, "logged_model_params", model_id, params or {})
        _put(conn, "logged_model_tags", model_id, tags or {})
        return stamp

    store.write(work)
    return get_logged_model(store, model_id)


def _put(conn: Tx, table: str, model_id: str, values: Mapping[str, str]) -> None:
    for key in values:
        conn.execute(f"DELETE FROM {table} WHERE model_id = ? AND key = ?", (model_id, key))
    conn.executemany(
        f"INSERT INTO {table} (model_id, key, value) VALUES (?, ?, ?)",
        [(model_id, key, value) for key, value in values.items()],
    )


def _load(store: Store, where: str, params: Sequence[object]) -> list[LoggedModel]:
    rows = store.read(
        f"SELECT * FROM logged_models WHERE lifecycle_stage = 'active' AND {where} "
        "ORDER BY creation_time DESC, model_id",
        params,
    )
    if not rows:
        return []
    ids = [row.model_id for row in rows]
    marks = ",".join("?" * len(ids))
    extra: dict[str, dict[str, dict[str, str]]] = {"params": {}, "tags": {}}
    for kind in extra:
        sql = f"SELECT model_id, key, value FROM logged_model_{kind} WHERE model_id IN ({marks})"
        for found in store.read(sql, ids):
            extra[kind].setdefault(found.model_id, {})[found.key] = found.value
    return [
        LoggedModel(
            model_id=row.model_id,
            experiment_id=str(row.experiment_id),
            name=row.name,
            model_type=row.model_type,
            source_run_id=row.source_run_id,
            status=row.status,
            creation_time=row.creation_time,
            last_updated_time=row.last_updated_time,
            params=extra["params"].get(row.model_id, {}),
            tags=extra["tags"].get(row.model_id, {}),
        )
        for row in rows
    ]


def get_logged_model(store: Store, model_id: str) -> LoggedModel:
    """The active logged model ``model_id``, or ``NotFound``."""
    found = _load(store, "model_id = ?", (_check_id(model_id),))
    if not found:
        raise _no_model()
    return found[0]


def _change(store: Store, model_id: str, work: Any) -> None:
    get_logged_model(store, model_id)

    def run(conn: Tx) -> None:
        work(conn)
        conn.execute(
            "UPDATE logged_models SET last_updated_time = ? WHERE model_id = ?",
            (now_ms(), model_id),
        )

    store.write(run)


def _update(store: Store, model_id: str, work: Any) -> LoggedModel:
    _change(store, model_id, work)
    return get_logged_model(store, model_id)


def finalize_logged_model(store: Store, model_id: str, status: str) -> LoggedModel:
    """Set a logged model's status (READY once its files are uploaded)."""
    if status not in STATUSES:
        raise InvalidInput(f"logged model status must be one of {', '.join(STATUSES)}")
    return _update(
        store,
        model_id,
        lambda conn: conn.execute(
            "UPDATE logged_models SET status = ? WHERE model_id = ?", (status, model_id)
        ),
    )


def set_logged_model_tags(store: Store, model_id: str, tags: Mapping[str, str]) -> LoggedModel:
    """Set (or replace) tags of a logged model."""
    return _update(store, model_id, lambda conn: _put(conn, "logged_model_tags", model_id, tags))


def delete_logged_model_tag(store: Store, model_id: str, key: str) -> LoggedModel:
    """Remove one tag of a logged model (nothing if it has none by that key)."""
    return _update(
        store,
        model_id,
        lambda conn: conn.execute(
            "DELETE FROM logged_model_tags WHERE model_id = ? AND key = ?", (model_id, key)
        ),
    )


def log_logged_model_params(store: Store, model_id: str, params: Mapping[str, str]) -> LoggedModel:
    """Record params of a logged model (a key logged again takes the new value)."""
    return _update(
        store, model_id, lambda conn: _put(conn, "logged_model_params", model_id, params)
    )


def delete_logged_model(store: Store, model_id: str) -> None:
    """Mark a logged model deleted; its files stay until an operator removes them."""
    _change(
        store,
        model_id,
        lambda conn: conn.execute(
            "UPDATE logged_models SET lifecycle_stage = 'deleted' WHERE model_id = ?", (model_id,)
        ),
    )


def search_logged_models(
    store: Store, experiment_ids: Sequence[str], filter_string: str = ""
) -> list[LoggedModel]:
    """Active logged models of ``experiment_ids``, newest first; ``filter_string`` is
    clauses ``name = 'x'``, ``source_run_id = '...'`` or ``status = 'READY'`` joined by AND."""
    ids = [int(i) for i in experiment_ids if i.isdigit() and len(i) <= 18]
    if not ids:
        return []
    where = [f"experiment_id IN ({','.join('?' * len(ids))})"]
    params: list[object] = list(ids)
    for clause in re.split(r"\s+and\s+", filter_string.strip(), flags=re.IGNORECASE):
        if not clause:
            continue
        match = _CLAUSE.match(clause)
        if not match:
            raise InvalidInput(
                "logged model filter must be clauses like name = 'model', "
                "source_run_id = '<id>' or status = 'READY', joined by AND"
            )
        key = match["key"].lower()
        value = match["value"]
        if key == "status":
            value = value.upper().removeprefix("LOGGED_MODEL_")
        where.append(f"{key} = ?")
        params.append(value)
    return _load(store, " AND ".join(where), params)


__all__ = [
    "MODEL_ID",
    "STATUSES",
    "LoggedModel",
    "create_logged_model",
    "delete_logged_model",
    "delete_logged_model_tag",
    "finalize_logged_model",
    "get_logged_model",
    "log_logged_model_params",
    "logged_model_key",
    "search_logged_models",
    "set_logged_model_tags",
]
