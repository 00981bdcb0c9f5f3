"""Registered versions from a remote artifact store, kept in a local cache by digest.

``<cache>/models/<digest>`` (``$MODELPACK_CACHE_DIR``, default ``~/.cache/modelpack``)
holds one verified copy of each snapshot this machine has loaded. A download goes
into a temporary directory beside it, is checked against the digest the registry
recorded and against ``MLmodel``'s own hashes, and only then renamed into place: two
processes loading at once never see a half-written cache, and the next load reuses it.
Run artifacts (mutable, so not cached) are downloaded into ``<cache>/runs/`` afresh.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from pathlib import Path

from modelpack.errors import IntegrityError, ModelNotFound, ModelpackError, NotFound
from modelpack.model_dir import verify_model_dir
from modelpack.tracking.artifact_stores.base import ArtifactStore
from modelpack.tracking.artifact_stores.root import cache_dir
from modelpack.tracking.snapshots.digest import blob_key, manifest_digest
from modelpack.tracking.snapshots.verify import remember_verified

_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_STALE_S = 24 * 3600.0


def _sweep(folder: Path) -> None:
    # Downloads of processes killed mid-way; only old ones, so live downloads are safe.
    cutoff = time.time() - _STALE_S
    try:
        for entry in folder.glob(".tmp-*"):
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
    except OSError:
        pass


def _fresh(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f".tmp-{os.getpid()}-{uuid.uuid4().hex}"


def cached_version_dir(artifacts: ArtifactStore, name: str, version: int, digest: str) -> Path:
    """The local, verified copy of snapshot ``digest`` (``name`` version ``version``)."""
    where = f"registered model '{name}' version {version}"
    if not _DIGEST.match(digest):
        raise IntegrityError(f"{where}: the registry's digest is malformed; register it again")
    models = cache_dir() / "models"
    final = models / digest
    if final.is_dir():
        return final
    _sweep(models)
    temp = _fresh(models)
    try:
        artifacts.get_tree(blob_key(digest), temp)
        if not any(temp.iterdir()):
            raise IntegrityError(
                f"{where}: its files are missing from the artifact store ({artifacts.uri}); "
                "restore them from a backup or register the model again"
            )
        found = manifest_digest(temp)
        if found != digest:
            raise IntegrityError(
                f"{where}: the files in the artifact store do not match the digest the registry "
                f"recorded (expected {digest[:16]}…, found {found[:16]}…); do not load it — "
                "register the model again from a trusted source"
            )
        try:
            verify_model_dir(temp)
        except ModelpackError as exc:
            raise IntegrityError(f"{where}: {exc.message}") from None
        try:
            temp.rename(final)
        except OSError:
            if not final.is_dir():  # not a lost race with another loader: a real failure
                raise
        else:
            remember_verified(final, digest)
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return final


def evict(digest: str) -> None:
    """Drop the cached copy of ``digest`` (it failed verification: download it again)."""
    if _DIGEST.match(digest):
        target = cache_dir() / "models" / digest
        trash = _fresh(cache_dir() / "models")
        try:
            target.rename(trash)
        except OSError:
            return
        shutil.rmtree(trash, ignore_errors=True)


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
    runs = cache_dir() / "runs"
    temp = path.parent
    if temp.parent == runs and temp.name.startswith(".tmp-"):
        shutil.rmtree(temp, ignore_errors=True)


__all__ = ["cached_version_dir", "downloaded_artifact", "evict", "release_download"]
