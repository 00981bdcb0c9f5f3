"""Artifact files on disk: staging, atomic placement and content-addressed snapshots.

Everything is first written under the store's staging directory (same filesystem
as the artifacts) and then renamed into place, so a reader never sees a half-written
file or model, even after ``kill -9``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from modelpack.errors import AlreadyExists, ModelFormatError
from modelpack.model_dir import inspect_model_dir, verify_model_dir
from modelpack.model_files import copy_listing
from modelpack.tracking.stores import Store, os_errors

_CHUNK = 1 << 20


# -- run artifacts ------------------------------------------------------------------


def run_artifact_dir(store: Store, experiment_id: str, run_id: str) -> Path:
    """The directory holding a run's artifacts (created lazily by writers)."""
    return store.artifact_root / str(experiment_id) / run_id / "artifacts"


def staging_path(store: Store) -> Path:
    """A fresh, not yet existing path in the store's staging area."""
    with os_errors(store.staging_dir):
        store.staging_dir.mkdir(parents=True, exist_ok=True)
    return store.staging_dir / uuid.uuid4().hex


def place_file(store: Store, source: Path, dest: Path) -> None:
    """Copy ``source`` to ``dest`` atomically (replacing an older artifact of that name)."""
    staged = staging_path(store)
    with os_errors(dest):
        try:
            shutil.copyfile(source, staged)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, dest)
        finally:
            staged.unlink(missing_ok=True)


def place_bytes(store: Store, data: bytes, dest: Path) -> None:
    """Write ``data`` to ``dest`` atomically."""
    staged = staging_path(store)
    with os_errors(dest):
        try:
            staged.write_bytes(data)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, dest)
        finally:
            staged.unlink(missing_ok=True)


def place_tree(staged: Path, dest: Path) -> None:
    """Rename the staged directory ``staged`` to ``dest``, which must not exist yet."""
    if dest.exists():
        raise AlreadyExists(
            f"artifact '{dest.name}' already exists in this run; log under another name"
        )
    with os_errors(dest):
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(staged, dest)
        except OSError as exc:
            if dest.exists():  # lost a race with another writer of the same name
                raise AlreadyExists(
                    f"artifact '{dest.name}' already exists in this run; log under another name"
                ) from exc
            raise


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


def blob_dir(store: Store, digest: str) -> Path:
    """Where the snapshot with manifest ``digest`` lives."""
    return store.artifact_root / "models" / "blobs" / digest


__all__ = [
    "blob_dir",
    "list_files",
    "manifest_digest",
    "place_bytes",
    "place_file",
    "place_tree",
    "remove_tree",
    "run_artifact_dir",
    "snapshot",
    "staging_path",
]
