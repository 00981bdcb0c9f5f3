"""The local cache of registered versions downloaded from a tracking server.

A version is kept at ``<cache>/models/<digest>``, named by the manifest digest recorded
at registration (the version tag ``modelpack.content_digest``). It is downloaded once,
checked against that digest and against MLmodel's own payload hashes, and reused on the
next load after the same check (cheap: :mod:`~modelpack.tracking.snapshots.verify` remembers a
verified directory by its files' size, mtime and inode). A cached copy that no longer
matches — a file edited or truncated on disk — is thrown away and downloaded again.

``MODELPACK_CACHE_DIR`` moves the cache (default ``~/.cache/modelpack``).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from modelpack.errors import IntegrityError, StoreError
from modelpack.model_dir import verify_model_dir
from modelpack.tracking.artifact_stores.root import CACHE_DIR_ENV, cache_dir
from modelpack.tracking.snapshots.digest import manifest_digest
from modelpack.tracking.snapshots.verify import verify_version_dir
from modelpack.tracking.stores.rest.artifacts import replace_dir

log = logging.getLogger("modelpack.tracking")


def models_dir() -> Path:
    path = cache_dir() / "models"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the model cache at {path} ({exc.strerror}); set {CACHE_DIR_ENV} "
            "to a writable directory"
        ) from None
    return path


def _checked(fresh: Path, name: str, version: int, digest: str | None) -> str:
    """Check a downloaded version; return its digest. Removes ``fresh`` when it fails."""
    try:
        verify_model_dir(fresh)  # MLmodel's own payload hashes (when the saver wrote them)
        found = manifest_digest(fresh)
        if digest is not None and found != digest:
            raise IntegrityError(
                f"registered model '{name}' version {version}: the files the tracking server "
                f"sent do not match the digest recorded at registration (expected "
                f"{digest[:16]}…, got {found[:16]}…): they were changed after registration; do "
                "not load it — register the model again from a trusted source"
            )
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return found


def cached_version(
    name: str, version: int, digest: str | None, fetch: Callable[[Path], Path]
) -> Path:
    """The verified local directory of ``name`` version ``version``.

    ``fetch(parent)`` downloads the version into a new directory under ``parent`` and
    returns it; it is called only when no valid cached copy exists.
    """
    models = models_dir()
    if digest is None:  # registered by another client: no record to look the cache up by
        fresh = fetch(models)
        digest = _checked(fresh, name, version, None)
        with FileLock(str(models / f"{digest}.lock")):
            target = models / digest
            if target.is_dir():
                shutil.rmtree(fresh, ignore_errors=True)
            else:
                fresh.rename(target)
        return verify_version_dir(name, version, target)
    target = models / digest
    with FileLock(str(models / f"{digest}.lock")):
        if target.is_dir():
            try:
                return verify_version_dir(name, version, target)
            except IntegrityError as exc:
                log.warning("cached copy is damaged, downloading it again: %s", exc.message)
        fresh = fetch(models)
        _checked(fresh, name, version, digest)
        replace_dir(fresh, target)
        return verify_version_dir(name, version, target)


__all__ = ["cached_version", "models_dir"]
