"""Artifacts as files under a local (or mounted) directory.

Every write is staged under ``<root>/.staging`` (the same file system) and renamed into
place, so a reader never sees a half-written file or tree, even after ``kill -9``.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from modelpack.errors import AlreadyExists, NotFound, StoreError, UnsafePathError
from modelpack.tracking.artifact_stores.base import ArtifactEntry


def check_key(key: str) -> str:
    """``key`` if it is a plain relative POSIX path (internal invariant: callers validate
    user input first); raises :class:`UnsafePathError` otherwise."""
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise UnsafePathError(f"artifact key '{key[:200]}' must be a relative POSIX path")
    if any(part in ("..", ".") for part in PurePosixPath(key).parts):
        raise UnsafePathError(f"artifact key '{key[:200]}' must not contain '.' or '..'")
    return key


def _explain(exc: OSError, where: str) -> str:
    if exc.errno == errno.ENOSPC:
        return f"{where}: the disk is full; free some space and retry (nothing was written)"
    if exc.errno == errno.EROFS:
        return f"{where} is read-only; point MODELPACK_ARTIFACT_ROOT at a writable location"
    if isinstance(exc, PermissionError):
        return f"{where} cannot be written; check the directory's owner and permissions"
    return f"{where} failed ({exc.strerror or type(exc).__name__})"


class LocalArtifactStore:
    """An :class:`~modelpack.tracking.artifact_stores.base.ArtifactStore` on a directory.

    >>> store = LocalArtifactStore(Path("/tmp/artifacts"))  # doctest: +SKIP
    >>> store.put_bytes(b"hello", "1/run/artifacts/note.txt")  # doctest: +SKIP
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._staging = root / ".staging"

    def __repr__(self) -> str:
        return f"LocalArtifactStore({str(self.root)!r})"

    @property
    def uri(self) -> str:
        return self.root.as_uri()

    @property
    def local_root(self) -> Path:
        return self.root

    @property
    def staging_dir(self) -> Path:
        return self._staging

    def path(self, key: str) -> Path:
        """The local path of ``key``."""
        return self.root / check_key(key) if key else self.root

    def uri_of(self, key: str) -> str:
        return self.path(key).as_uri()

    @contextmanager
    def _errors(self, key: str) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise StoreError(_explain(exc, f"artifact store '{self.path(key)}'")) from None

    def _staged(self) -> Path:
        self._staging.mkdir(parents=True, exist_ok=True)
        return self._staging / uuid.uuid4().hex

    def put_file(self, source: Path, key: str) -> None:
        dest = self.path(key)
        with self._errors(key):
            staged = self._staged()
            try:
                shutil.copyfile(source, staged)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, dest)
            finally:
                staged.unlink(missing_ok=True)

    def put_bytes(self, data: bytes, key: str) -> None:
        dest = self.path(key)
        with self._errors(key):
            staged = self._staged()
            try:
                staged.write_bytes(data)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, dest)
            finally:
                staged.unlink(missing_ok=True)

    def put_tree(self, source: Path, prefix: str, *, exist_ok: bool = False) -> None:
        dest = self.path(prefix)
        taken = f"artifact '{dest.name}' already exists in this run; log under another name"
        if dest.exists():
            if exist_ok:
                return
            raise AlreadyExists(taken)
        with self._errors(prefix):
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.rename(source, dest)
            except OSError as exc:
                if dest.exists():  # lost a race with another writer of the same name
                    if exist_ok:
                        return
                    raise AlreadyExists(taken) from exc
                raise

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self.path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"no artifact '{key}' in {self.uri}") from None
        except OSError as exc:
            raise StoreError(_explain(exc, f"artifact store '{self.path(key)}'")) from None

    def exists(self, key: str) -> bool:
        try:
            return self.path(key).is_file()
        except OSError:  # a name the file system cannot look up (too long, say)
            return False

    def list(self, prefix: str) -> list[ArtifactEntry]:
        found: list[ArtifactEntry] = []
        with self._errors(prefix):
            _walk(os.fspath(self.path(prefix)), "", found)
        return found

    def get_tree(self, prefix: str, dest: Path) -> None:
        base = self.path(prefix)
        with self._errors(prefix):
            dest.mkdir(parents=True)
            for entry in self.list(prefix):
                target = dest / entry.path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(base / entry.path, target)

    def delete(self, prefix: str) -> None:
        target = self.path(prefix)
        if not prefix:
            raise UnsafePathError("refusing to delete the whole artifact root")
        with self._errors(prefix):
            if target.is_file():
                target.unlink(missing_ok=True)
                return
            if not target.exists():
                return
            trash = self._staged()
            try:
                target.rename(trash)  # readers see the whole tree or none of it
            except FileNotFoundError:
                return
        shutil.rmtree(trash, ignore_errors=True)  # failures are left for the sweeper


def _walk(folder: str, relative: str, found: list[ArtifactEntry]) -> None:
    """Append the files under ``folder`` (named ``relative`` in the listing): a
    folder's files by name, then its subfolders by name, as ``os.walk`` gave them
    (a link to a file is listed, a linked folder is not entered); what vanishes
    meanwhile (a delete moves trees away) is skipped."""
    try:
        with os.scandir(folder) as entries:
            listed = sorted((entry.name, entry) for entry in entries)
    except (FileNotFoundError, NotADirectoryError):
        return
    subfolders = []
    for name, entry in listed:
        try:
            if entry.is_dir():
                if not entry.is_symlink():  # os.walk lists a linked folder, never enters it
                    subfolders.append(name)
                continue
            size = entry.stat().st_size
        except FileNotFoundError:
            continue
        found.append(ArtifactEntry(f"{relative}{name}", size))
    for name in subfolders:
        _walk(os.path.join(folder, name), f"{relative}{name}/", found)


__all__ = ["LocalArtifactStore", "check_key"]
