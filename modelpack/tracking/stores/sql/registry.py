"""Writing the model registry: new registered models and numbered immutable versions, and
the garbage collection of blobs no version references (reads are in ``registry_read``,
other edits in ``registry_edit``).

Registering hashes the model directory first: when the store holds a complete blob with
that digest, the version shares it and nothing is copied. Otherwise it copies the
directory into local staging, verifies the copy, and publishes it as a
content-addressed blob before the version row is committed: on S3
the upload happens before the write transaction (a slow upload holds no lock) and the
transaction checks the blob is still whole; on a local store the rename happens inside
it. A crash or failed upload at any point leaves either no row (and at most orphan
blobs) or a row whose files are complete; version numbers come from a per-model
counter, so they are never duplicated, skipped or reused. On PostgreSQL a version
without tags takes one statement instead of a transaction: the blob is published
first, then one INSERT ... RETURNING allocates the number and records the version;
an advisory lock on the digest keeps the blob from being collected in between. A
version sharing a blob that other versions reference takes no lock: its statement pins
one of those rows, and a blob is collected only when no row references it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from modelpack.errors import AlreadyExists, StoreError
from modelpack.tracking.entities import ModelVersion, RegisteredModel
from modelpack.tracking.snapshots.digest import BlobGone, blob_key, publish_blob, remove_tree
from modelpack.tracking.stores.sql.artifacts import (
    Snapshot,
    artifact_store,
    blob_location,
    snapshot,
)
from modelpack.tracking.stores.sql.engine import IntegrityViolation, Store, Tx
from modelpack.tracking.stores.sql.registry_read import get_registered_model, no_model_error
from modelpack.tracking.stores.sql.runs import now_ms

if TYPE_CHECKING:
    from sqlalchemy import Connection


def create_registered_model(
    store: Store, name: str, tags: Mapping[str, str] | None = None, description: str = ""
) -> RegisteredModel:
    """Create ``name``; ``AlreadyExists`` if it is taken."""

    def work(conn: Tx) -> None:
        stamp = now_ms()
        try:
            conn.execute(
                "INSERT INTO registered_models (name, creation_time, last_updated_time, "
                "description) VALUES (?, ?, ?, ?)",
                (name, stamp, stamp, description),
            )
        except IntegrityViolation:
            raise AlreadyExists(f"registered model '{name}' already exists") from None
        conn.executemany(
            "INSERT INTO registered_model_tags VALUES (?, ?, ?)",
            [(name, k, v) for k, v in (tags or {}).items()],
        )

    store.write(work)
    return get_registered_model(store, name)


# Allocating the next number (creating the model if new) is one statement; on
# PostgreSQL recording the version joins it (two round trips, the digest's lock and the
# statement, instead of five: BEGIN, lock, allocate, insert, COMMIT).
_CREATE_AND_ALLOCATE = (
    "INSERT INTO registered_models (name, creation_time, last_updated_time, last_version) "
    "VALUES (?, ?, ?, 1) ON CONFLICT (name) DO UPDATE SET "
    "last_version = registered_models.last_version + 1, "
    "last_updated_time = excluded.last_updated_time RETURNING last_version"
)
_ALLOCATE = (
    "UPDATE registered_models SET last_version = last_version + 1, last_updated_time = ? "
    "WHERE name = ? RETURNING last_version"
)

# PostgreSQL: a blob is collected only under an exclusive advisory lock on its digest, and
# a registration that checks or publishes the blob holds the shared one from its check
# until its row is committed. The one-statement path takes the lock for the session
# before the check; its statement takes the transaction-level lock (granted at once: this
# session holds the shared lock already) and only then lets the session's go, so the
# protection has no gap; it records nothing if the session lock was lost (a new
# connection after an error).
_KEY = "hashtextextended(?, 0)"
_HANDOVER = (
    f"guard AS (SELECT CASE WHEN pg_advisory_xact_lock_shared({_KEY})::text = '' "
    f"THEN pg_advisory_unlock_shared({_KEY}) ELSE false END AS ok)"
)
# Sharing a blob that a committed version references needs no lock: such a blob is whole
# (its row was committed under the lock, after the check) and is collected only once no
# row references it. The statement pins one referencing row (FOR KEY SHARE: it cannot be
# deleted until this statement commits, and then the new row references the blob too);
# if none is left, it records nothing and the registration takes the locked path.
_PINNED = "guard AS (SELECT true AS ok FROM model_versions WHERE blob = ? LIMIT 1 FOR KEY SHARE)"
_CREATE_AND_ALLOCATE_GUARDED = (
    "INSERT INTO registered_models (name, creation_time, last_updated_time, last_version) "
    "SELECT ?, ?, ?, 1 FROM guard WHERE ok ON CONFLICT (name) DO UPDATE SET "
    "last_version = registered_models.last_version + 1, "
    "last_updated_time = excluded.last_updated_time RETURNING last_version"
)
_ALLOCATE_GUARDED = (
    "UPDATE registered_models SET last_version = last_version + 1, last_updated_time = ? "
    "FROM guard WHERE name = ? AND ok RETURNING last_version"
)
_RECORD = (
    "INSERT INTO model_versions (name, version, creation_time, last_updated_time, "
    "description, source, run_id, blob) SELECT ?, last_version, ?, ?, ?, ?, ?, ? FROM allocated "
    "RETURNING version"
)


def _release(store: Store, held_on: Connection, digest: str) -> None:
    """Let go of the session lock taken on ``held_on``: unlock it while it is still this
    thread's connection, else (or if that fails) close it, which releases the lock,
    rather than let the pool hand a locked connection to someone else."""
    if store.connection() is held_on:
        try:
            store.execute(f"SELECT pg_advisory_unlock_shared({_KEY})", [digest])
            return
        except Exception:
            pass
    try:
        held_on.invalidate()
    except Exception:
        pass


def _record_guarded(
    store: Store,
    guard: tuple[str, list[str]],
    name: str,
    record: tuple[str, str | None, str],
    create_model: bool,
    digest: str,
) -> tuple[int, int] | None:
    """One autocommitted statement: unless ``guard`` (a CTE and its parameters) finds
    nothing, allocate the next number of ``name`` (the row lock serialises concurrent
    writers) and insert the version; (version, time), or None if nothing was recorded."""
    source, run_id, description = record
    stamp = now_ms()
    if create_model:
        allocate, params = _CREATE_AND_ALLOCATE_GUARDED, [name, stamp, stamp]
    else:
        allocate, params = _ALLOCATE_GUARDED, [stamp, name]
    cte, guard_params = guard

    def landed() -> tuple[int] | None:
        # the row this statement writes, if it committed before its answer was lost (a
        # registration of the same files from the same source in the same millisecond
        # is told apart by nothing: it would be taken for this one)
        rows = store.read(
            "SELECT version FROM model_versions WHERE name = ? AND creation_time = ? "
            "AND blob = ? AND source = ? ORDER BY version DESC LIMIT 1",
            (name, stamp, digest, source),
        )
        return (int(rows[0][0]),) if rows else None

    row = store.execute_once(
        f"WITH {cte}, allocated AS ({allocate}) {_RECORD}",
        [*guard_params, *params, name, stamp, stamp, description, source, run_id, digest],
        landed,
    ).fetchone()
    return None if row is None else (int(row[0]), stamp)


def _share_in_one_statement(
    store: Store,
    name: str,
    snap: Snapshot,
    record: tuple[str, str | None, str],
    create_model: bool,
) -> tuple[int, int] | None:
    """PostgreSQL, no tags, a blob :func:`snapshot` found whole: one statement with no
    lock (see ``_PINNED``); None when no version references the blob any more."""
    return _record_guarded(store, (_PINNED, [snap.digest]), name, record, create_model, snap.digest)


def _publish_in_one_statement(
    store: Store,
    name: str,
    snap: Snapshot,
    record: tuple[str, str | None, str],
    create_model: bool,
) -> tuple[int, int]:
    """PostgreSQL, no tags: lock the digest, make sure the blob is whole, then one
    autocommitted statement records the version and releases the lock with its commit."""
    digest = snap.digest
    for _ in range(3):
        store.execute(f"SELECT pg_advisory_lock_shared({_KEY})", [digest])
        held_on = store.connection()  # the one the lock went through (after any retry)
        try:
            publish_blob(artifact_store(store), digest, snap.files, snap.staged)
            recorded = _record_guarded(
                store, (_HANDOVER, [digest, digest]), name, record, create_model, digest
            )
        except BaseException:
            _release(store, held_on, digest)
            raise
        if recorded is not None:
            return recorded
        _release(store, held_on, digest)
        if not create_model and not store.read(
            "SELECT 1 FROM registered_models WHERE name = ?", (name,)
        ):
            collect_garbage(store, {digest})  # the blob placed for a model that does not exist
            raise no_model_error(name)
        # the connection changed between the lock and the statement: lock and check again
    raise StoreError(
        f"registering a version of '{name}' lost its database connection three times in a "
        "row; check the database server and register it again"
    )


def publish_version(
    store: Store,
    conn: Tx,
    name: str,
    snap: Snapshot,
    record: tuple[str, str | None, str],
    stamp: int | None = None,
    create_model: bool = False,
) -> int:
    """Inside a write transaction: allocate the next version and move its blob in place.

    ``record`` is (source, run_id, description); ``stamp`` the creation time (now if
    not given); ``create_model`` creates the model if it is new. Runs again on retry,
    so it is idempotent.
    """
    source, run_id, description = record
    # One statement both allocates and locks: a concurrent writer waits on the row (and
    # on PostgreSQL re-reads it), so no two transactions ever get the same number.
    stamp = now_ms() if stamp is None else stamp
    if create_model:
        row = conn.execute(_CREATE_AND_ALLOCATE, (name, stamp, stamp)).fetchone()
    else:
        row = conn.execute(_ALLOCATE, (stamp, name)).fetchone()
    if row is None:
        raise no_model_error(name)
    version = int(row[0])
    if conn.dialect == "postgresql":  # SQLite's write transaction excludes collection already
        conn.execute(f"SELECT pg_advisory_xact_lock_shared({_KEY})", (snap.digest,))
    # Locally this is the rename that publishes the blob; on S3 the upload happened before
    # the transaction and this only re-checks it (a concurrent delete may have collected it).
    publish_blob(artifact_store(store), snap.digest, snap.files, snap.staged)
    conn.execute(
        "INSERT INTO model_versions (name, version, creation_time, last_updated_time, "
        "description, source, run_id, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (name, version, stamp, stamp, description, source, run_id, snap.digest),
    )
    return version


def _register(
    store: Store,
    name: str,
    snap: Snapshot,
    record: tuple[str, str | None, str],
    tags: Mapping[str, str],
    create_model: bool,
) -> tuple[int, int]:
    artifacts = artifact_store(store)
    if artifacts.local_root is None and snap.staged is not None:
        publish_blob(artifacts, snap.digest, snap.files, snap.staged)  # upload, then the row
    if store.dialect == "postgresql" and not tags:
        if snap.staged is None:
            shared = _share_in_one_statement(store, name, snap, record, create_model)
            if shared is not None:
                return shared
        return _publish_in_one_statement(store, name, snap, record, create_model)

    def work(conn: Tx) -> tuple[int, int]:
        stamp = now_ms()
        version = publish_version(store, conn, name, snap, record, stamp, create_model)
        conn.executemany(
            "INSERT INTO model_version_tags VALUES (?, ?, ?, ?)",
            [(name, version, k, v) for k, v in tags.items()],
        )
        return version, stamp

    return store.write(work)


def create_model_version(
    store: Store,
    name: str,
    model_dir: Path,
    source: str,
    run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
    description: str = "",
    create_model: bool = False,
) -> ModelVersion:
    """Snapshot ``model_dir`` into the store as the next version of ``name``."""
    snap = snapshot(store, model_dir)
    if run_id is None and isinstance(snap.mlmodel.get("run_id"), str):
        run_id = snap.mlmodel["run_id"]
    record = (source, run_id, description)
    try:
        try:
            version, stamp = _register(store, name, snap, record, dict(tags or {}), create_model)
        except BlobGone:  # the stored copy it was to share was collected: copy it after all
            if snap.staged is not None:
                remove_tree(snap.staged)
            snap = snapshot(store, model_dir, reuse=False)
            version, stamp = _register(store, name, snap, record, dict(tags or {}), create_model)
    finally:
        if snap.staged is not None:
            remove_tree(snap.staged)  # gone already unless the blob existed or the write failed
    # Built from what was just committed: a new version has no aliases and only its tags.
    return ModelVersion(
        name=name,
        version=version,
        creation_timestamp=stamp,
        last_updated_timestamp=stamp,
        description=description,
        current_stage="None",
        source=source,
        run_id=run_id,
        storage_location=blob_location(store, snap.digest),
        tags=dict(tags or {}),
        aliases=(),
    )


def collect_garbage(store: Store, digests: set[str]) -> None:
    """Delete blobs no version references any more (after their rows are committed gone).

    The check and the delete share one write transaction, so a version registered
    meanwhile either keeps the blob or finds it gone and publishes it again (SQLite's
    write transactions exclude each other; on PostgreSQL the digest's advisory lock,
    exclusive here, waits for registrations holding it shared).
    """
    artifacts = artifact_store(store)
    for digest in digests:

        def work(conn: Tx, digest: str = digest) -> None:
            if conn.dialect == "postgresql":
                conn.execute(f"SELECT pg_advisory_xact_lock({_KEY})", (digest,))
            if conn.execute("SELECT 1 FROM model_versions WHERE blob = ?", (digest,)).fetchone():
                return
            artifacts.delete(blob_key(digest))

        store.write(work)


__all__ = [
    "collect_garbage",
    "create_model_version",
    "create_registered_model",
    "publish_version",
]
