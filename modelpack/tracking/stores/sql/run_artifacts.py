"""Logging files into a run: files, directories, dicts, text and figures.

Each file lands atomically in the store's artifact store (a local directory: staged,
then renamed; S3: one PUT per file); a name already logged is replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

from modelpack.errors import NotFound
from modelpack.tracking.names import check_artifact_path
from modelpack.tracking.snapshots.digest import list_files
from modelpack.tracking.stores.sql.artifacts import artifact_store, run_artifact_key
from modelpack.tracking.stores.sql.engine import Store
from modelpack.tracking.stores.sql.runs import get_run


def artifact_prefix_of(store: Store, run_id: str) -> str:
    """The artifact key prefix of ``run_id`` (``NotFound`` if the run does not exist)."""
    run = get_run(store, run_id)
    return run_artifact_key(run.info.experiment_id, run_id)


def _target(store: Store, run_id: str, artifact_path: str | None) -> str:
    root = artifact_prefix_of(store, run_id)
    return f"{root}/{check_artifact_path(artifact_path)}" if artifact_path else root


def log_artifact(
    store: Store, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None
) -> None:
    """Copy the file ``local_path`` into the run, under ``artifact_path`` if given."""
    source = Path(local_path)
    if not source.is_file():
        raise NotFound(f"no file at '{source}' to log; pass the path of an existing file")
    artifact_store(store).put_file(source, f"{_target(store, run_id, artifact_path)}/{source.name}")


def log_artifacts(
    store: Store, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None
) -> None:
    """Copy every file under ``local_dir`` into the run, keeping the layout."""
    source = Path(local_dir)
    if not source.is_dir():
        raise NotFound(f"no directory at '{source}' to log; pass an existing directory")
    target = _target(store, run_id, artifact_path)
    artifacts = artifact_store(store)
    for relative in list_files(source):
        artifacts.put_file(source / relative, f"{target}/{relative.as_posix()}")


def log_bytes(store: Store, run_id: str, data: bytes, artifact_file: str) -> None:
    """Write ``data`` as the run artifact ``artifact_file``."""
    artifact_store(store).put_bytes(data, _target(store, run_id, artifact_file))


def list_artifacts(store: Store, run_id: str, path: str | None = None) -> list[str]:
    """Relative paths of every file logged to ``run_id`` (under ``path`` if given)."""
    base = check_artifact_path(path) if path else ""
    entries = artifact_store(store).list(_target(store, run_id, base or None))
    return sorted(f"{base}/{entry.path}" if base else entry.path for entry in entries)


__all__ = [
    "artifact_prefix_of",
    "list_artifacts",
    "log_artifact",
    "log_artifacts",
    "log_bytes",
]
