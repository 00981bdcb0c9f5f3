"""The artifact store contract: what the tracking and registry code asks of a backend.

Keys are relative POSIX paths under the store's root (``"3/<run_id>/artifacts/model"``,
``"models/blobs/<digest>"``); a *tree* is every file under a key prefix. Files are
streamed, never held whole in memory. Backends: :mod:`.local` (a directory) and
:mod:`.s3` (a bucket and prefix).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class ArtifactEntry:
    """One stored file: its path relative to the listed prefix, and its size in bytes."""

    path: str
    size: int


class ArtifactStore(Protocol):
    """Put, read, list and delete files and trees under one root."""

    @property
    def uri(self) -> str:
        """The root as a URI (``file:///…`` or ``s3://bucket/prefix``); never a credential."""
        ...

    @property
    def local_root(self) -> Path | None:
        """The root directory when artifacts are local files (read in place), else ``None``."""
        ...

    @property
    def staging_dir(self) -> Path:
        """Local scratch space for building trees before :meth:`put_tree` (same file system
        as the root for a local store, so publishing is a rename)."""
        ...

    def uri_of(self, key: str) -> str:
        """The URI of ``key`` in this store."""
        ...

    def put_file(self, source: Path, key: str) -> None:
        """Store the local file ``source`` as ``key``, replacing an older one; readers see
        the old or the new file, never part of one."""
        ...

    def put_bytes(self, data: bytes, key: str) -> None:
        """Store ``data`` as ``key`` (same guarantees as :meth:`put_file`)."""
        ...

    def put_tree(self, source: Path, prefix: str, *, exist_ok: bool = False) -> None:
        """Publish the staged directory ``source`` at ``prefix``.

        The local store renames ``source`` into place (it is gone afterwards); others
        upload it (the caller removes it). Without ``exist_ok`` a tree already at
        ``prefix`` raises :class:`~modelpack.errors.AlreadyExists`; with it (content-
        addressed trees, same content by construction) an existing tree is kept or
        completed.
        """
        ...

    def open(self, key: str) -> BinaryIO:
        """``key`` opened for streaming reads (``NotFound`` if absent)."""
        ...

    def exists(self, key: str) -> bool:
        """Whether ``key`` is a stored file."""
        ...

    def list(self, prefix: str) -> list[ArtifactEntry]:
        """Every file under ``prefix`` (relative to it), sorted by path; ``[]`` if none."""
        ...

    def get_tree(self, prefix: str, dest: Path) -> None:
        """Write every file under ``prefix`` into the new directory ``dest``."""
        ...

    def delete(self, prefix: str) -> None:
        """Remove the tree (or file) at ``prefix``; nothing there is not an error."""
        ...


__all__ = ["ArtifactEntry", "ArtifactStore"]
