"""Where a store's artifacts go: run artifact keys, staging, content-addressed snapshots.

The files themselves live in the store's :class:`~modelpack.tracking.artifact_stores.
ArtifactStore` (a local directory or S3). Trees are built in local staging first and
published in one step (a rename on a local store), so a reader never sees a
half-written file or model, even after ``kill -9``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from modelpack.errors import ModelFormatError
from modelpack.model_dir import inspect_model_dir, verify_model_dir
from modelpack.model_files import copy_listing
from modelpack.tracking.artifact_stores.base import ArtifactStore
from modelpack.tracking.artifact_stores.select import open_artifact_store
from modelpack.tracking.stores import Store, os_errors

_CHUNK = 1 << 20
BLOBS = "models/blobs"


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


def list_files(root: Path) -> list[Path]:
    """Every regular file under ``root``, relative, in a stable order."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for filename in sorted(filenames):
            found.append((Path(dirpath) / filename).relative_to(root))
    return found


def remove_tree(path: Path) -> None:
    """Delete ``path`` if present; failures are left for a later clean-up."""
    shutil.rmtree(path, ignore_errors=True)


# -- content-addressed snapshots ------------------------------------------------------


def manifest_digest(model_dir: Path) -> str:
    """SHA-256 over the sorted list of (path, size, SHA-256) of every file in ``model_dir``."""
    manifest = hashlib.sha256()
    for relative in list_files(model_dir):
        digest = hashlib.sha256()
        with open(model_dir / relative, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        size = (model_dir / relative).stat().st_size
        manifest.update(f"{relative.as_posix()}\t{size}\t{digest.hexdigest()}\n".encode())
    return manifest.hexdigest()


def snapshot(store: Store, source: Path) -> tuple[Path, str, dict[str, Any]]:
    """Copy ``source`` into staging, verify the copy, and return (staged, digest, MLmodel).

    Verifying the copy rather than the source means what is stored is exactly what
    was checked, even if the source changes meanwhile.
    """
    if not source.is_dir():
        raise ModelFormatError(f"no model directory at '{source}'")
    # MLmodel first (a directory that is not a model is never walked), then its declared
    # files and an lstat listing; only regular files and directories are copied.
    _, listing = inspect_model_dir(source)
    staged = staging_path(store)
    try:
        with os_errors(staged):
            copy_listing(listing, staged)
        mlmodel = verify_model_dir(staged)
        digest = manifest_digest(staged)
    except BaseException:
        remove_tree(staged)
        raise
    return staged, digest, mlmodel


def blob_key(digest: str) -> str:
    """The key prefix of the snapshot with manifest ``digest``."""
    return f"{BLOBS}/{digest}"


def blob_location(store: Store, digest: str) -> str:
    """Where the snapshot ``digest`` lives: a local path, or an ``s3://`` URI."""
    artifacts = artifact_store(store)
    local = artifacts.local_root
    return (
        str(local / blob_key(digest)) if local is not None else artifacts.uri_of(blob_key(digest))
    )


def blob_complete(artifacts: ArtifactStore, digest: str, staged: Path) -> bool:
    """Whether the snapshot ``digest`` is stored whole: every file of the ``staged`` copy,
    at its size (the digest fixes the content). A staged copy already renamed into a local
    store leaves nothing to compare, and a rename publishes all or nothing."""
    stored = {(entry.path, entry.size) for entry in artifacts.list(blob_key(digest))}
    if not stored or not staged.is_dir():
        return bool(stored)
    expected = {(rel.as_posix(), (staged / rel).stat().st_size) for rel in list_files(staged)}
    return stored == expected


def publish_blob(artifacts: ArtifactStore, digest: str, staged: Path) -> None:
    """Store the staged snapshot ``digest`` unless it is there whole already (idempotent)."""
    if not blob_complete(artifacts, digest, staged):
        artifacts.put_tree(staged, blob_key(digest), exist_ok=True)


__all__ = [
    "BLOBS",
    "artifact_store",
    "blob_complete",
    "blob_key",
    "blob_location",
    "list_files",
    "manifest_digest",
    "publish_blob",
    "remove_tree",
    "run_artifact_key",
    "snapshot",
    "staging_path",
]
