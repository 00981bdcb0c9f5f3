"""Where a store's artifacts go: run artifact keys, staging, content-addressed snapshots.

The files themselves live in the store's :class:`~modelpack.tracking.artifact_stores.
ArtifactStore` (a local directory or S3). Trees are built in local staging first and
published in one step (a rename on a local store), so a reader never sees a
half-written file or model, even after ``kill -9``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelpack.errors import ModelFormatError
from modelpack.model_dir import inspect_model_dir, verify_model_dir
from modelpack.model_files import copy_listing
from modelpack.tracking.artifact_stores.base import ArtifactStore
from modelpack.tracking.artifact_stores.select import open_artifact_store
from modelpack.tracking.snapshots.digest import (
    blob_complete,
    blob_key,
    files_digest,
    remove_tree,
    tree_digest,
)
from modelpack.tracking.stores.sql.engine import Store, os_errors


def artifact_store(store: Store) -> ArtifactStore:
    """The artifact store of the tracking store ``store``."""
    return open_artifact_store(store.artifact_root)


# -- run artifacts ------------------------------------------------------------------


def run_artifact_key(experiment_id: str, run_id: str) -> str:
    """The key prefix holding a run's artifacts."""
    return f"{experiment_id}/{run_id}/artifacts"


def staging_path(store: Store) -> Path:
    """A fresh, not yet existing local path in the store's staging area."""
    with os_errors(store.staging_dir):
        store.staging_dir.mkdir(parents=True, exist_ok=True)
    return store.staging_dir / uuid.uuid4().hex


# -- content-addressed snapshots ------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A model directory ready to publish: its manifest ``digest``, the (name, size) of
    its ``files``, its ``mlmodel``, and ``staged``, the verified copy to publish (None
    when the store held this content already)."""

    digest: str
    files: frozenset[tuple[str, int]]
    mlmodel: dict[str, Any]
    staged: Path | None


def snapshot(store: Store, source: Path, *, reuse: bool = True) -> Snapshot:
    """Prepare ``source`` for publishing as a content-addressed snapshot.

    With ``reuse``, the source's files are hashed first: when the store already holds a
    snapshot with that digest (the same model registered again), nothing is copied,
    since the digest fixes the content. Otherwise the files are copied into
    staging and the copy is verified and hashed, so what is stored is exactly what was
    checked, even if the source changes meanwhile.
    """
    if not source.is_dir():
        raise ModelFormatError(f"no model directory at '{source}'")
    # MLmodel first (a directory that is not a model is never walked), then its declared
    # files and an lstat listing; only regular files and directories are read or copied.
    mlmodel, listing = inspect_model_dir(source)
    if reuse:
        with os_errors(source):
            digest, files = files_digest(listing.files)
        # Whole now; a version recorded without a lock relies on a committed row
        # referencing it (see registry), a locked one checks again under the lock
        # (BlobGone sends it back here to copy after all).
        if blob_complete(artifact_store(store), digest, files):
            return Snapshot(digest, files, mlmodel, None)
    staged = staging_path(store)
    try:
        with os_errors(staged):
            copy_listing(listing, staged)
        mlmodel = verify_model_dir(staged)
        digest, files = tree_digest(staged)
    except BaseException:
        remove_tree(staged)
        raise
    return Snapshot(digest, files, mlmodel, staged)


def blob_location(store: Store, digest: str) -> str:
    """Where the snapshot ``digest`` lives: a local path, or an ``s3://`` URI."""
    artifacts = artifact_store(store)
    local = artifacts.local_root
    return (
        str(local / blob_key(digest)) if local is not None else artifacts.uri_of(blob_key(digest))
    )


__all__ = [
    "Snapshot",
    "artifact_store",
    "blob_location",
    "run_artifact_key",
    "snapshot",
    "staging_path",
]
