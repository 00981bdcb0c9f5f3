"""A snapshot's identity: the manifest digest of a model directory, and where the snapshot
with a digest lives in any artifact store (``models/blobs/<digest>``). No tracking store.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Set
from pathlib import Path
from typing import BinaryIO

from modelpack.model_files import open_regular
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


def _manifest(
    files: Iterable[tuple[str, Path]], opener: Callable[[Path, str], BinaryIO]
) -> tuple[str, frozenset[tuple[str, int]]]:
    """SHA-256 over the lines (name, size, SHA-256) of ``files`` (relative POSIX name, path),
    in the order given, and their (name, size) pairs; each file opened with ``opener``."""
    manifest = hashlib.sha256()
    sizes = set()
    for relative, path in files:
        digest, size = hashlib.sha256(), 0
        with opener(path, relative) as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        manifest.update(f"{relative}\t{size}\t{digest.hexdigest()}\n".encode())
        sizes.add((relative, size))
    return manifest.hexdigest(), frozenset(sizes)


def _open(path: Path, relative: str) -> BinaryIO:
    return open(path, "rb")


def tree_digest(root: Path) -> tuple[str, frozenset[tuple[str, int]]]:
    """The manifest digest of every file under ``root`` and their (name, size) pairs, in
    one read of each file."""
    return _manifest(((rel.as_posix(), root / rel) for rel in list_files(root)), _open)


def manifest_digest(model_dir: Path) -> str:
    """SHA-256 over the sorted list of (path, size, SHA-256) of every file in ``model_dir``."""
    return tree_digest(model_dir)[0]


def _walk_order(relative: str) -> tuple[tuple[int, str], ...]:
    # list_files' order: a directory's files by name, then its subdirectories by name
    *folders, name = relative.split("/")
    return (*((1, folder) for folder in folders), (0, name))


def files_digest(files: Mapping[str, Path]) -> tuple[str, frozenset[tuple[str, int]]]:
    """The manifest digest of a tree holding ``files`` (relative POSIX name -> the regular
    file with its bytes), and its (name, size) pairs: what :func:`manifest_digest` gives
    for a copy of them, without making the copy (only regular files are opened)."""
    ordered = ((relative, files[relative]) for relative in sorted(files, key=_walk_order))
    return _manifest(ordered, open_regular)


def blob_key(digest: str) -> str:
    """The key prefix of the snapshot with manifest ``digest``."""
    return f"{BLOBS}/{digest}"


def blob_complete(artifacts: ArtifactStore, digest: str, files: Set[tuple[str, int]]) -> bool:
    """Whether the snapshot ``digest`` is stored whole: exactly ``files`` (name, size), the
    digest fixing their content."""
    return {(entry.path, entry.size) for entry in artifacts.list(blob_key(digest))} == files


class BlobGone(Exception):
    """The snapshot's blob is missing or partial and no staged copy is left to publish it
    from: the caller copies the model again."""


def publish_blob(
    artifacts: ArtifactStore, digest: str, files: Set[tuple[str, int]], staged: Path | None
) -> None:
    """Store the staged snapshot ``digest`` unless it is there whole already (idempotent).

    ``files`` are its (name, size) pairs; ``staged`` the verified copy, or None when the
    blob existed before (then :class:`BlobGone` if it no longer does)."""
    if blob_complete(artifacts, digest, files):
        return
    if staged is None or not staged.is_dir():
        raise BlobGone(digest)
    if artifacts.local_root is not None:
        # a partial tree (files removed by hand) would keep the rename from replacing it;
        # on S3 the upload overwrites every object anyway
        artifacts.delete(blob_key(digest))
    artifacts.put_tree(staged, blob_key(digest), exist_ok=True)


__all__ = [
    "BLOBS",
    "BlobGone",
    "blob_complete",
    "blob_key",
    "files_digest",
    "list_files",
    "manifest_digest",
    "publish_blob",
    "remove_tree",
    "tree_digest",
]
