"""Registered versions are checked against the digest the registry recorded for them.

At registration the registry stores the manifest digest of the snapshot (every file,
``MLmodel`` included, by path, size and SHA-256) in the version's row. Loading a
``models:/`` URI recomputes it over the files and refuses a mismatch, so editing a
payload file — or deleting the hashes from ``MLmodel`` to switch its own check off —
cannot slip past: the record that counts is the registry's, not the directory's.

A verified snapshot is remembered per process by the (size, mtime, inode) of its
files, so loading the same unchanged version again does not re-read every byte.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from modelpack.errors import IntegrityError, ModelpackError
from modelpack.model_dir import verify_model_dir
from modelpack.tracking.snapshots.digest import list_files, manifest_digest

_Fingerprint = tuple[tuple[str, int, int, int], ...]
_verified: dict[Path, tuple[_Fingerprint, str]] = {}
_lock = threading.Lock()


def _fingerprint(root: Path) -> _Fingerprint:
    found = []
    for relative in list_files(root):
        stat = os.stat(root / relative)
        found.append((relative.as_posix(), stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return tuple(found)


def _which(root: Path) -> str:
    # The registry's digest says only that something changed; MLmodel's own hashes, when
    # still there and readable, can say what.
    try:
        verify_model_dir(root)
    except ModelpackError as exc:
        return f"; {exc.message}"
    return ""


def remember_verified(root: Path, digest: str) -> None:
    """Record that ``root`` was just checked against ``digest`` (by whoever wrote it)."""
    try:
        fingerprint = _fingerprint(root)
    except OSError:
        return
    with _lock:
        _verified[root] = (fingerprint, digest)


def verify_version_dir(name: str, version: int | str, root: Path) -> Path:
    """Check a version directory the registry resolved (named by its recorded digest).

    For callers that resolve first and load later (``serve --watch``): resolution stays
    cheap and a damaged version fails where loading fails, with the same back-off.
    """
    digest = root.name
    where = f"registered model '{name}' version {version}"
    if not root.is_dir():
        raise IntegrityError(
            f"{where}: its files are missing from the artifact store ({root}); restore the "
            "artifact store from a backup or register the model again"
        )
    try:
        fingerprint = _fingerprint(root)
    except OSError as exc:
        raise IntegrityError(f"{where}: its files cannot be read ({exc.strerror})") from None
    with _lock:
        if _verified.get(root) == (fingerprint, digest):
            return root
    found = manifest_digest(root)
    if found != digest:
        raise IntegrityError(
            f"{where}: its files do not match the digest the registry recorded at registration "
            f"(expected {digest[:16]}…, found {found[:16]}…){_which(root)}: they were changed "
            "after registration; do not load it — register the model again from a trusted source"
        )
    with _lock:
        _verified[root] = (fingerprint, digest)
    return root


__all__ = ["remember_verified", "verify_version_dir"]
