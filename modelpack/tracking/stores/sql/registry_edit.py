"""Changes to registered models and versions after creation.

Renames, descriptions, stage transitions, aliases, tags and deletion — each one
write transaction. Version numbers are never reused: deleting a version leaves
the model's counter where it was.
"""

from __future__ import annotations

from modelpack.errors import AlreadyExists, InvalidInput, ModelNotFound, NotFound
from modelpack.tracking.stores.sql.engine import Store, Tx
from modelpack.tracking.stores.sql.registry import collect_garbage
from modelpack.tracking.stores.sql.registry_read import require_model, require_version
from modelpack.tracking.stores.sql.runs import now_ms


def touch(conn: Tx, name: str, version: int | None = None) -> None:
    stamp = now_ms()
    conn.execute("UPDATE registered_models SET last_updated_time = ? WHERE name = ?", (stamp, name))
    if version is not None:
        conn.execute(
            "UPDATE model_versions SET last_updated_time = ? WHERE name = ? AND version = ?",
            (stamp, name, version),
        )


def validate_archive_flag(stage: str, archive_existing_versions: bool) -> None:
    """``archive_existing_versions`` only makes sense moving into Staging or Production."""
    if archive_existing_versions and stage not in ("Staging", "Production"):
        raise InvalidInput(
            "archive_existing_versions applies only to transitions into Staging or Production, "
            f"not '{stage}'"
        )


_VERSION_KEY = "name = ? AND version = ?"


def rename_registered_model(store: Store, name: str, new_name: str) -> None:
    """Rename ``name`` to ``new_name``, its versions, tags and aliases with it."""

    def work(conn: Tx) -> None:
        require_model(conn, name)
        if conn.execute("SELECT 1 FROM registered_models WHERE name = ?", (new_name,)).fetchone():
            raise AlreadyExists(f"registered model '{new_name}' already exists; pick another name")
        if conn.dialect == "sqlite":
            conn.execute("PRAGMA defer_foreign_keys = ON")
        else:
            conn.execute("SET CONSTRAINTS ALL DEFERRED")
        for table in (
            "registered_models",
            "model_versions",
            "registered_model_tags",
            "model_version_tags",
            "registered_model_aliases",
        ):
            conn.execute(f"UPDATE {table} SET name = ? WHERE name = ?", (new_name, name))
        touch(conn, new_name)

    store.write(work)


def update_registered_model(store: Store, name: str, description: str) -> None:
    """Set the description of ``name``."""

    def work(conn: Tx) -> None:
        require_model(conn, name)
        conn.execute(
            "UPDATE registered_models SET description = ? WHERE name = ?", (description, name)
        )
        touch(conn, name)

    store.write(work)


def delete_registered_model(store: Store, name: str) -> None:
    """Delete ``name`` and every version of it."""

    def work(conn: Tx) -> set[str]:
        require_model(conn, name)
        blobs = {
            r[0] for r in conn.execute("SELECT blob FROM model_versions WHERE name = ?", (name,))
        }
        for table in (
            "registered_model_aliases",
            "model_version_tags",
            "registered_model_tags",
            "model_versions",
            "registered_models",
        ):
            conn.execute(f"DELETE FROM {table} WHERE name = ?", (name,))
        return blobs

    collect_garbage(store, store.write(work))


def update_model_version(store: Store, name: str, version: int, description: str) -> None:
    """Set the description of version ``version`` of ``name``."""

    def work(conn: Tx) -> None:
        require_version(conn, name, version)
        conn.execute(
            f"UPDATE model_versions SET description = ? WHERE {_VERSION_KEY}",
            (description, name, version),
        )
        touch(conn, name, version)

    store.write(work)


def delete_model_version(store: Store, name: str, version: int) -> None:
    """Delete one version (its number is never handed out again) and aliases to it."""

    def work(conn: Tx) -> set[str]:
        require_version(conn, name, version)
        row = conn.execute(
            f"SELECT blob FROM model_versions WHERE {_VERSION_KEY}", (name, version)
        ).fetchone()
        blobs = {str(row[0])} if row is not None else set()
        for table in ("registered_model_aliases", "model_version_tags", "model_versions"):
            conn.execute(f"DELETE FROM {table} WHERE {_VERSION_KEY}", (name, version))
        touch(conn, name)
        return blobs

    collect_garbage(store, store.write(work))


def transition_model_version_stage(
    store: Store, name: str, version: int, stage: str, archive_existing_versions: bool = False
) -> None:
    """Move a version to ``stage`` (canonical name); optionally archive the others there."""
    validate_archive_flag(stage, archive_existing_versions)

    def work(conn: Tx) -> None:
        require_version(conn, name, version)
        if archive_existing_versions:
            conn.execute(
                "UPDATE model_versions SET current_stage = 'Archived', last_updated_time = ? "
                "WHERE name = ? AND current_stage = ? AND version != ?",
                (now_ms(), name, stage, version),
            )
        conn.execute(
            f"UPDATE model_versions SET current_stage = ? WHERE {_VERSION_KEY}",
            (stage, name, version),
        )
        touch(conn, name, version)

    store.write(work)


def set_alias(store: Store, name: str, alias: str, version: int) -> None:
    """Point ``alias`` of ``name`` at ``version`` (moving it if it pointed elsewhere)."""

    def work(conn: Tx) -> None:
        require_version(conn, name, version)
        conn.execute(
            "INSERT INTO registered_model_aliases VALUES (?, ?, ?) "
            "ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
            (name, alias, version),
        )
        touch(conn, name)

    store.write(work)


def delete_alias(store: Store, name: str, alias: str) -> None:
    """Remove ``alias`` from ``name``."""

    def work(conn: Tx) -> None:
        require_model(conn, name)
        cursor = conn.execute(
            "DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?", (name, alias)
        )
        if cursor.rowcount == 0:
            raise ModelNotFound(f"registered model '{name}' has no alias '{alias}'")
        touch(conn, name)

    store.write(work)


def set_model_tag(store: Store, name: str, key: str, value: str, version: int | None) -> None:
    """Set a tag on model ``name`` (``version`` None) or on one of its versions."""

    def work(conn: Tx) -> None:
        if version is None:
            require_model(conn, name)
            conn.execute(
                "INSERT INTO registered_model_tags VALUES (?, ?, ?) "
                "ON CONFLICT (name, key) DO UPDATE SET value = excluded.value",
                (name, key, value),
            )
        else:
            require_version(conn, name, version)
            conn.execute(
                "INSERT INTO model_version_tags VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value",
                (name, version, key, value),
            )
        touch(conn, name, version)

    store.write(work)


def delete_model_tag(store: Store, name: str, key: str, version: int | None) -> None:
    """Remove a tag from model ``name`` or one of its versions."""

    def work(conn: Tx) -> None:
        if version is None:
            require_model(conn, name)
            cursor = conn.execute(
                "DELETE FROM registered_model_tags WHERE name = ? AND key = ?", (name, key)
            )
        else:
            require_version(conn, name, version)
            cursor = conn.execute(
                f"DELETE FROM model_version_tags WHERE {_VERSION_KEY} AND key = ?",
                (name, version, key),
            )
        if cursor.rowcount == 0:
            where = f"'{name}'" if version is None else f"'{name}' version {version}"
            raise NotFound(f"registered model {where} has no tag '{key}'")

    store.write(work)


__all__ = [
    "delete_alias",
    "delete_model_tag",
    "delete_model_version",
    "delete_registered_model",
    "rename_registered_model",
    "set_alias",
    "set_model_tag",
    "transition_model_version_stage",
    "update_model_version",
    "update_registered_model",
]
