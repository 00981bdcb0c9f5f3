"""A snapshot's identity: the manifest digest of a model directory, and where the snapshot
with a digest lives in any artifact store (``models/blobs/<digest>``). No tracking store.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from modelpack.tracking.artifact_stores.base import ArtifactStore

_CHUNK = 1 << 20
BLOBS = "models/blobs"


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


def blob_key(digest: str) -> str:
    """The key prefix of the snapshot with manifest ``digest``."""
    return f"{BLOBS}/{digest}"


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
    "blob_complete",
    "blob_key",
    "list_files",
    "manifest_digest",
    "publish_blob",
    "remove_tree",
]
