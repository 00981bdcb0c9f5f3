"""Registered versions fetched from elsewhere, kept in a local cache by digest: from an
S3 artifact store (the SQL store) or through a tracking server's proxy (the REST store),
both through :func:`cached_version`, which is given a function that fetches the files.

``<cache>/models/<digest>`` (``$MODELPACK_CACHE_DIR``, default ``~/.cache/modelpack``)
holds one verified copy of each snapshot this machine has loaded. A download goes
into a temporary directory beside it, is checked against the digest the registry
recorded and against ``MLmodel``'s own hashes, and only then renamed into place: two
processes loading at once never see a half-written cache, and the next load reuses it
after the same check (cheap: :mod:`~modelpack.tracking.snapshots.verify` remembers a
verified directory by its files' size, mtime and inode). A cached copy that no longer
matches — a file edited or truncated on disk — is fetched again and replaced.
Run artifacts (mutable, so not cached) are downloaded into ``<cache>/runs/`` afresh.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from modelpack.errors import IntegrityError, ModelNotFound, ModelpackError, NotFound, StoreError
from modelpack.model_dir import verify_model_dir
from modelpack.tracking.artifact_stores.base import ArtifactStore
from modelpack.tracking.artifact_stores.root import CACHE_DIR_ENV, cache_dir
from modelpack.tracking.snapshots.digest import manifest_digest
from modelpack.tracking.snapshots.verify import remember_verified, verify_version_dir

log = logging.getLogger("modelpack.tracking")

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_STALE_S = 24 * 3600.0


def _sweep(folder: Path) -> None:
    # Downloads of processes killed mid-way (ours, and the REST store's ``.download-*``
    # trees); only old ones, so live downloads are safe.
    cutoff = time.time() - _STALE_S
    try:
        for pattern in (".tmp-*", ".download-*"):
            for entry in folder.glob(pattern):
                if entry.stat().st_mtime < cutoff:
                    shutil.rmtree(entry, ignore_errors=True)
    except OSError:
        pass


def _fresh(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex}"


def models_dir() -> Path:
    """``<cache>/models``, created if missing (``StoreError`` naming the setting if not)."""
    path = cache_dir() / "models"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the model cache at {path} ({exc.strerror}); set {CACHE_DIR_ENV} "
            "to a writable directory"
        ) from None
    return path


def replace_dir(fresh: Path, target: Path) -> Path:
    """Rename ``fresh`` to ``target``, moving an existing ``target`` aside first (a reader
    with files open in the old copy keeps reading them)."""
    old = None
    if target.exists():
        old = target.with_name(f".old-{uuid.uuid4().hex}")
        target.rename(old)
    fresh.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


def _checked(fresh: Path, where: str, origin: str, digest: str | None) -> str:
    """Check a fetched version against MLmodel's own payload hashes and the registry's
    ``digest`` (when there is one); return its digest."""
    if not fresh.is_dir() or not any(fresh.iterdir()):
        raise IntegrityError(
            f"{where}: its files are missing from {origin}; restore them from a backup or "
            "register the model again"
        )
    found = manifest_digest(fresh)
    if digest is not None and found != digest:
        raise IntegrityError(
            f"{where}: the files in {origin} do not match the digest the registry recorded "
            f"(expected {digest[:16]}…, found {found[:16]}…): they were changed after "
            "registration; do not load it — register the model again from a trusted source"
        )
    try:
        verify_model_dir(fresh)
    except ModelpackError as exc:
        raise IntegrityError(f"{where}: {exc.message}") from None
    return found


def _usable(name: str, version: int, target: Path, *, warn: bool = True) -> bool:
    if not target.is_dir():
        return False
    try:
        verify_version_dir(name, version, target)
    except IntegrityError as exc:
        if warn:
            log.warning("cached copy is damaged, fetching it again: %s", exc.message)
        return False
    return True


def cached_version(
    name: str,
    version: int,
    digest: str | None,
    fetch: Callable[[Path], None],
    origin: str,
    *,
    verify: bool = True,
) -> Path:
    """The verified local copy of ``name`` version ``version``, snapshot ``digest``.

    ``fetch(target)`` writes the version's files into the new directory ``target`` (it
    does not exist yet); it is called only when no valid cached copy exists: none yet, or
    one whose files no longer match ``digest`` (edited or truncated on disk). ``origin``
    names where ``fetch`` reads from, for errors. A version without a recorded ``digest``
    (registered by another client) is fetched and filed under the digest of its files.
    With ``verify`` false an existing copy is returned unchecked (the caller checks it
    with :func:`~modelpack.tracking.snapshots.verify.verify_version_dir` before loading).
    """
    where = f"registered model '{name}' version {version}"
    if digest is not None and not _DIGEST.match(digest):
        raise IntegrityError(f"{where}: the registry's digest is malformed; register it again")
    models = models_dir()
    if digest is not None:
        target = models / digest
        if target.is_dir() and (not verify or _usable(name, version, target)):
            return target
    _sweep(models)
    fresh = _fresh(models)
    try:
        fetch(fresh)
        found = _checked(fresh, where, origin, digest)
        target = models / found
        with FileLock(str(_lock_path(found))):
            if _usable(name, version, target, warn=False):
                return target  # another process or thread filled it meanwhile
            replace_dir(fresh, target)
            remember_verified(target, found)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return target


def _lock_path(digest: str) -> Path:
    locks = cache_dir() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    return locks / f"{digest}.lock"


def downloaded_artifact(artifacts: ArtifactStore, key: str, what: str) -> Path:
    """A fresh local copy of the run artifact ``key`` (a file or a tree)."""
    runs = cache_dir() / "runs"
    _sweep(runs)
    temp = _fresh(runs)
    try:
        if artifacts.exists(key):
            temp.mkdir()
            target = temp / key.rsplit("/", 1)[-1]
            with artifacts.open(key) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
            return target
        if not artifacts.list(key):
            raise ModelNotFound(f"{what}: no such artifact in {artifacts.uri}")
        artifacts.get_tree(key, temp / "tree")
        return temp / "tree"
    except (ModelpackError, NotFound, OSError):
        shutil.rmtree(temp, ignore_errors=True)
        raise


def release_download(path: Path) -> None:
    """Remove a copy :func:`downloaded_artifact` made, once it is no longer needed
    (anything else, such as a local store's own files, is left alone)."""
    temp = path.parent
    if temp.name.startswith(".tmp-") and temp.parent == cache_dir() / "runs":
        shutil.rmtree(temp, ignore_errors=True)


__all__ = [
    "cached_version",
    "downloaded_artifact",
    "models_dir",
    "release_download",
    "replace_dir",
]
