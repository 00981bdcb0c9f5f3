"""Reading the model registry: registered models, their versions, and the lookups a
``models:/`` URI needs (latest, by stage, by alias). Writes are in ``registry`` (new
models and versions, blob garbage collection) and ``registry_edit`` (everything else).
"""

from __future__ import annotations

from modelpack.errors import ModelNotFound
from modelpack.tracking.entities import ModelVersion, RegisteredModel
from modelpack.tracking.stores.sql.artifacts import blob_location
from modelpack.tracking.stores.sql.engine import Store, Tx


def no_model_error(name: str) -> ModelNotFound:
    return ModelNotFound(
        f"registered model '{name}' does not exist; register it first "
        "(modelpack models register) or check the name with 'modelpack models list'"
    )


def no_version_error(name: str, version: int) -> ModelNotFound:
    return ModelNotFound(
        f"registered model '{name}' has no version {version}; "
        f"list versions with 'modelpack models versions {name}'"
    )


def require_model(conn: Tx, name: str) -> None:
    if not conn.execute("SELECT 1 FROM registered_models WHERE name = ?", (name,)).fetchone():
        raise no_model_error(name)


def require_version(conn: Tx, name: str, version: int) -> None:
    require_model(conn, name)
    if not conn.execute(
        "SELECT 1 FROM model_versions WHERE name = ? AND version = ?", (name, version)
    ).fetchone():
        raise no_version_error(name, version)


def _versions(store: Store, where: str, params: tuple[object, ...]) -> list[ModelVersion]:
    rows = store.read(f"SELECT * FROM model_versions WHERE {where} ORDER BY name, version", params)
    if not rows:
        return []
    tags: dict[tuple[str, int], dict[str, str]] = {}
    aliases: dict[tuple[str, int], list[str]] = {}
    names = sorted({row.name for row in rows})
    marks = ",".join("?" * len(names))
    for tag in store.read(f"SELECT * FROM model_version_tags WHERE name IN ({marks})", names):
        tags.setdefault((tag.name, tag.version), {})[tag.key] = tag.value
    for alias in store.read(
        f"SELECT * FROM registered_model_aliases WHERE name IN ({marks}) ORDER BY alias", names
    ):
        aliases.setdefault((alias.name, alias.version), []).append(alias.alias)
    return [
        ModelVersion(
            name=row.name,
            version=row.version,
            creation_timestamp=row.creation_time,
            last_updated_timestamp=row.last_updated_time,
            description=row.description,
            current_stage=row.current_stage,
            source=row.source,
            run_id=row.run_id,
            storage_location=blob_location(store, row.blob),
            tags=tags.get((row.name, row.version), {}),
            aliases=tuple(aliases.get((row.name, row.version), ())),
        )
        for row in rows
    ]


def get_model_version(store: Store, name: str, version: int) -> ModelVersion:
    """Version ``version`` of ``name``, or ``ModelNotFound`` naming what is missing."""
    found = _versions(store, "name = ? AND version = ?", (name, version))
    if not found:
        if not store.read("SELECT 1 FROM registered_models WHERE name = ?", (name,)):
            raise no_model_error(name)
        raise no_version_error(name, version)
    return found[0]


def search_model_versions(
    store: Store, name: str | None = None, run_id: str | None = None
) -> list[ModelVersion]:
    """Versions, optionally of one model name and/or one run, by name then version."""
    where, params = ["1 = 1"], []
    if name is not None:
        where.append("name = ?")
        params.append(name)
    if run_id is not None:
        where.append("run_id = ?")
        params.append(run_id)
    return _versions(store, " AND ".join(where), tuple(params))


def get_latest_versions(
    store: Store, name: str, stages: list[str] | None = None
) -> list[ModelVersion]:
    """The highest version in each stage (all stages, or only ``stages``)."""
    if not store.read("SELECT 1 FROM registered_models WHERE name = ?", (name,)):
        raise no_model_error(name)
    latest: dict[str, ModelVersion] = {}
    for version in _versions(store, "name = ?", (name,)):
        latest[version.current_stage] = version
    wanted = stages if stages else list(latest)
    return sorted((latest[s] for s in wanted if s in latest), key=lambda v: v.version)


def get_registered_model(store: Store, name: str) -> RegisteredModel:
    """The registered model ``name``, or ``ModelNotFound``."""
    found = search_registered_models(store, name=name)
    if not found:
        raise no_model_error(name)
    return found[0]


def search_registered_models(
    store: Store, name: str | None = None, name_like: str | None = None
) -> list[RegisteredModel]:
    """Registered models by name; ``name_like`` is an SQL LIKE pattern."""
    where, params = "1 = 1", []
    if name is not None:
        where, params = "name = ?", [name]
    elif name_like is not None:
        where, params = "name LIKE ?", [name_like]
    rows = store.read(f"SELECT * FROM registered_models WHERE {where} ORDER BY name", params)
    result = []
    for row in rows:
        model = row.name
        tags = store.read("SELECT key, value FROM registered_model_tags WHERE name = ?", (model,))
        aliases = store.read(
            "SELECT alias, version FROM registered_model_aliases WHERE name = ?", (model,)
        )
        result.append(
            RegisteredModel(
                name=model,
                creation_timestamp=row.creation_time,
                last_updated_timestamp=row.last_updated_time,
                description=row.description,
                latest_versions=tuple(get_latest_versions(store, model)),
                tags={t.key: t.value for t in tags},
                aliases={a.alias: a.version for a in aliases},
            )
        )
    return result


def version_in_stage(store: Store, name: str, stage: str) -> int:
    """The highest version of ``name`` in ``stage``, or ``ModelNotFound``."""
    rows = store.read(
        "SELECT max(version) FROM model_versions WHERE name = ? AND current_stage = ?",
        (name, stage),
    )
    if rows[0][0] is None:
        if not store.read("SELECT 1 FROM registered_models WHERE name = ?", (name,)):
            raise no_model_error(name)
        raise ModelNotFound(f"registered model '{name}' has no version in stage '{stage}'")
    return int(rows[0][0])


def latest_version(store: Store, name: str) -> int:
    """The highest existing version of ``name``, or ``ModelNotFound``."""
    rows = store.read("SELECT max(version) FROM model_versions WHERE name = ?", (name,))
    if rows[0][0] is None:
        if not store.read("SELECT 1 FROM registered_models WHERE name = ?", (name,)):
            raise no_model_error(name)
        raise ModelNotFound(f"registered model '{name}' has no versions yet")
    return int(rows[0][0])


def version_for_alias(store: Store, name: str, alias: str) -> int:
    """The version ``alias`` points at, or ``ModelNotFound``."""
    rows = store.read(
        "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?", (name, alias)
    )
    if not rows:
        if not store.read("SELECT 1 FROM registered_models WHERE name = ?", (name,)):
            raise no_model_error(name)
        raise ModelNotFound(f"registered model '{name}' has no alias '{alias}'")
    return int(rows[0][0])


__all__ = [
    "get_latest_versions",
    "get_model_version",
    "get_registered_model",
    "latest_version",
    "no_model_error",
    "no_version_error",
    "require_model",
    "require_version",
    "search_model_versions",
    "search_registered_models",
    "version_for_alias",
    "version_in_stage",
]
