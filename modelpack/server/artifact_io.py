"""Every artifact byte the server reads or writes goes through this module.

The proxy (``/api/2.0/mlflow-artifacts/artifacts/<path>``) sees the store's artifact
root, but only three exact shapes of path inside it (an allow-list, never a prefix):

- ``<experiment id>/<run id>/artifacts[/<file>]`` — a run's artifacts (read, write);
- ``<experiment id>/models/<m-id>/artifacts[/<file>]`` — a logged model's (read, write);
- ``models/blobs/<sha256>[/<file>]`` — a registered version's snapshot (read only).

The run or logged model must exist and belong to the experiment the path names.
Every path is checked before it is touched (``..``, absolute, percent-encoded
traversal, backslashes, NUL). The files live in the store's artifact store (a local
directory or S3): on a local one no component may be a symlink and files are opened
with ``O_NOFOLLOW``. Uploads stream into local staging, bounded, and are then put in
the artifact store in one step, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from starlette.concurrency import run_in_threadpool

from modelpack.errors import InvalidInput, NotFound, UnsafePathError
from modelpack.server.endpoint import Permission, Scope
from modelpack.tracking.artifact_stores.base import ArtifactStore
from modelpack.tracking.names import check_artifact_path
from modelpack.tracking.snapshots.cache import downloaded_artifact, release_download
from modelpack.tracking.snapshots.digest import blob_key
from modelpack.tracking.stores.sql import logged_models, runs
from modelpack.tracking.stores.sql.artifacts import artifact_store, run_artifact_key, staging_path
from modelpack.tracking.stores.sql.engine import Store, os_errors
from modelpack.tracking.stores.sql.resolve import resolve_models_uri

_EXP = r"(?P<exp>[0-9]{1,18})"
_REST = r"(?:/(?P<rest>.+))?"
_RUN = re.compile(rf"^{_EXP}/(?P<owner>[0-9a-f]{{32}})/artifacts{_REST}$")
_LOGGED = re.compile(rf"^{_EXP}/models/(?P<owner>m-[0-9a-f]{{32}})/artifacts{_REST}$")
_BLOB = re.compile(rf"^models/blobs/(?P<owner>[0-9a-f]{{64}}){_REST}$")
_CHUNK = 1 << 20
_SHAPES = (
    "the path must lie in a run's artifacts (<experiment>/<run id>/artifacts/...), a logged "
    "model's (<experiment>/models/<model id>/artifacts/...) or a registered version's "
    "snapshot (models/blobs/<digest>/...)"
)


class ArtifactTooLarge(InvalidInput):
    """An upload passed the server's artifact size limit."""

    error_code = "RESOURCE_LIMIT_EXCEEDED"
    http_status = 413


class UnsafeArtifactPath(InvalidInput):
    """An artifact path that would leave its place (``..``, absolute, encoded, a link)."""


def checked_path(path: str) -> str:
    """``path`` as a clean relative path, or :class:`UnsafeArtifactPath` (400) saying why."""
    try:
        return check_artifact_path(path)
    except UnsafePathError as exc:
        raise UnsafeArtifactPath(exc.message) from None


@dataclass(frozen=True)
class Place:
    """Where a proxy path points: whose artifacts, and the file inside them."""

    kind: str  # "run", "logged_model" or "blob"
    experiment_id: str | None
    owner: str
    relative: str  # "" for the owner's artifact directory itself

    @property
    def writable(self) -> bool:
        """Whether clients may write here (a registered snapshot is immutable)."""
        return self.kind != "blob"


def parse_path(path: str) -> Place:
    """The :class:`Place` of a proxy path, or 400 if it is unsafe or not an allowed shape."""
    clean = checked_path(path)
    for kind, shape in (("run", _RUN), ("logged_model", _LOGGED), ("blob", _BLOB)):
        match = shape.match(clean)
        if match:
            experiment = match.groupdict().get("exp")
            return Place(kind, experiment, match["owner"], match["rest"] or "")
    raise InvalidInput(_SHAPES)


def scopes(store: Store, place: Place, need: Permission) -> list[Scope]:
    """What reading or writing ``place`` needs: the experiment's grant, or for a snapshot
    a grant on any model that registered it."""
    if place.experiment_id is not None:
        return [Scope("experiment", (place.experiment_id,), need)]
    names = store.read("SELECT DISTINCT name FROM model_versions WHERE blob = ?", (place.owner,))
    return [Scope("model", tuple(row[0] for row in names) or ("",), need)]


def _base(store: Store, place: Place) -> str:
    """The owner's artifact key prefix, after checking the owner exists where the path says."""
    if place.kind == "blob":
        if not store.read("SELECT 1 FROM model_versions WHERE blob = ?", (place.owner,)):
            raise NotFound("no registered version has this snapshot")
        return blob_key(place.owner)
    assert place.experiment_id is not None
    if place.kind == "run":
        run = runs.get_run(store, place.owner)
        if run.info.experiment_id != place.experiment_id:
            raise NotFound("no run with this id in this experiment")
        return run_artifact_key(place.experiment_id, place.owner)
    model = logged_models.get_logged_model(store, place.owner)
    if model.experiment_id != place.experiment_id:
        raise NotFound("no logged model with this id in this experiment")
    return logged_models.logged_model_key(place.experiment_id, place.owner)


def _no_links(root: Path, target: Path) -> None:
    """Refuse ``target`` if it, or any directory between the store's root and it, is a
    symlink (checked with ``lstat``: nothing is followed)."""
    current = root
    for part in target.relative_to(root).parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return
        except OSError:
            raise UnsafeArtifactPath("the artifact path cannot be looked up") from None
        if stat.S_ISLNK(mode):
            raise UnsafeArtifactPath(
                "the artifact path passes through a symbolic link; the server never follows one"
            )


@dataclass(frozen=True)
class Located:
    """A place resolved in the artifact store: its key, and its local path on a local one."""

    artifacts: ArtifactStore
    key: str
    path: Path | None  # None on a remote (S3) artifact store

    def is_dir(self) -> bool:
        """Whether a tree of files is stored under this key."""
        if self.path is not None:
            return self.path.is_dir()
        return bool(self.artifacts.list(self.key))


def locate(store: Store, place: Place) -> Located:
    """Where ``place`` is stored (it may not exist yet); on a local artifact store no
    component of its path may be a link."""
    key = _base(store, place)
    if place.relative:
        key = f"{key}/{place.relative}"
    artifacts = artifact_store(store)
    root = artifacts.local_root
    if root is None:
        return Located(artifacts, key, None)
    target = root / key
    _no_links(root, target)
    return Located(artifacts, key, target)


async def write_stream(store: Store, place: Place, chunks: AsyncIterator[bytes], limit: int) -> int:
    """Stream ``chunks`` into ``place`` (staged, then put in one step); at most ``limit`` bytes."""
    if not place.writable:
        raise InvalidInput("a registered version's snapshot is read-only; log a new version")
    if not place.relative:
        raise InvalidInput("name a file inside the artifact directory, e.g. .../artifacts/x.txt")
    await run_in_threadpool(locate, store, place)  # 404 or 400 before reading the body
    staged = staging_path(store)
    size = 0
    try:
        with os_errors(staged):
            staged.parent.mkdir(parents=True, exist_ok=True)
        with os_errors(staged), open(staged, "xb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise ArtifactTooLarge(
                        f"an artifact must be at most {limit} bytes; this one is larger — "
                        "raise --max-artifact-bytes or split the file"
                    )
                out.write(chunk)
        await run_in_threadpool(_publish, store, place, staged)
    finally:
        staged.unlink(missing_ok=True)
    return size


def _publish(store: Store, place: Place, staged: Path) -> None:
    where = locate(store, place)  # again: a link may have appeared meanwhile
    if where.is_dir():
        raise InvalidInput("a directory of artifacts already has this name")
    where.artifacts.put_file(staged, where.key)


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    """``handle``'s bytes in chunks of at most 1 MiB; closes it at the end."""
    with handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def open_file(store: Store, place: Place) -> tuple[int | None, Iterator[bytes]]:
    """(size if known, chunks) of the file at ``place``; ``NotFound`` for a directory or
    nothing."""
    where = locate(store, place)
    if where.path is None:
        if not where.artifacts.exists(where.key):
            raise NotFound("no artifact file at this path (a directory, or nothing); list it")
        return None, _chunks(where.artifacts.open(where.key))
    try:
        fd = os.open(where.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise NotFound("no artifact at this path") from None
    except OSError:
        raise UnsafeArtifactPath("the artifact path cannot be opened as a file") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise NotFound("no artifact file at this path (it is a directory); list it instead")
    return info.st_size, _chunks(os.fdopen(fd, "rb"))


def list_children(store: Store, place: Place) -> list[dict[str, object]]:
    """The direct children of the directory at ``place`` (none if it is missing or a file),
    as MLflow's ``FileInfo``: ``path`` (the name), ``is_dir``, ``file_size``."""
    where = locate(store, place)
    if where.path is None:
        return _remote_children(where)
    files: list[dict[str, object]] = []
    try:
        entries = sorted(os.scandir(where.path), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []
    for entry in entries:
        if entry.is_symlink():
            continue
        if entry.is_dir(follow_symlinks=False):
            files.append({"path": entry.name, "is_dir": True})
        elif entry.is_file(follow_symlinks=False):
            size = entry.stat(follow_symlinks=False).st_size
            files.append({"path": entry.name, "is_dir": False, "file_size": size})
    return files


def _remote_children(where: Located) -> list[dict[str, object]]:
    children: dict[str, dict[str, object]] = {}
    for entry in where.artifacts.list(where.key):
        name, _, rest = entry.path.partition("/")
        if rest:
            children.setdefault(name, {"path": name, "is_dir": True})
        else:
            children[name] = {"path": name, "is_dir": False, "file_size": entry.size}
    return [children[name] for name in sorted(children)]


def delete(store: Store, place: Place) -> None:
    """Remove the file or directory at ``place`` (nothing if it is missing)."""
    if not place.writable:
        raise InvalidInput("a registered version's snapshot is read-only; delete the version")
    where = locate(store, place)
    if where.path is not None and where.path.is_symlink():
        with os_errors(where.path):
            where.path.unlink()
        return
    if not where.key.strip("/"):
        raise InvalidInput("name a file or folder inside the artifact directory")
    where.artifacts.delete(where.key)


def run_place(store: Store, run_id: str, path: str | None) -> Place:
    """The :class:`Place` of a path inside one run's artifacts (``NotFound`` for no run)."""
    run = runs.get_run(store, run_id)
    relative = checked_path(path) if path else ""
    return Place("run", run.info.experiment_id, run_id, relative)


# -- sources of model versions ---------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The local model directory a version's ``source`` names, and the run it came from.

    On a remote artifact store the directory is a download: :meth:`release` removes it."""

    directory: Path
    run_id: str | None

    def release(self) -> None:
        """Remove the directory if it was downloaded for this call (a store's own files stay)."""
        release_download(self.directory)


_SOURCES = (
    "source must be runs:/<run id>/<path>, models:/<model id>, models:/<name>/<version> or "
    "mlflow-artifacts:/<path> in this server's store"
)


def _source_place(store: Store, source: str) -> Place | None:
    if source.startswith("mlflow-artifacts:"):
        return parse_path(source.removeprefix("mlflow-artifacts:").lstrip("/"))
    if source.startswith("runs:/"):
        run_id, _, path = source.removeprefix("runs:/").partition("/")
        if not re.fullmatch(r"[0-9a-f]{32}", run_id):
            raise InvalidInput(_SOURCES)
        return run_place(store, run_id, path or None)
    if source.startswith("models:/m-"):
        model = logged_models.get_logged_model(store, source.removeprefix("models:/").rstrip("/"))
        return Place("logged_model", model.experiment_id, model.model_id, "")
    return None


def model_source(store: Store, source: str) -> Source:
    """Resolve a model version's ``source`` to a directory in this store — never any other
    path on the server's disk (downloaded from a remote artifact store: release it)."""
    place = _source_place(store, source)
    if place is not None:
        where = locate(store, place)
        if not where.is_dir():
            raise NotFound("the source holds no model directory")
        directory = where.path
        if directory is None:
            directory = downloaded_artifact(where.artifacts, where.key, "the source")
        run_id = place.owner if place.kind == "run" else None
        if place.kind == "logged_model":
            run_id = logged_models.get_logged_model(store, place.owner).source_run_id
        return Source(directory, run_id)
    if source.startswith("models:/"):
        name, version, directory = resolve_models_uri(source, store)
        found = store.read(
            "SELECT run_id FROM model_versions WHERE name = ? AND version = ?", (name, version)
        )
        return Source(directory, found[0][0] if found else None)
    raise InvalidInput(_SOURCES)


def source_scopes(store: Store, source: str) -> list[Scope]:
    """What registering ``source`` needs besides EDIT on the model: READ on what holds it."""
    try:
        place = _source_place(store, source)
        if place is not None:
            return scopes(store, place, Permission.READ)
        if source.startswith("models:/"):
            name = source.removeprefix("models:/").split("/")[0].split("@")[0]
            return [Scope("model", (name,), Permission.READ)]
    except (InvalidInput, NotFound):
        pass
    # unreadable or unknown: refused as if forbidden, so ids cannot be probed
    return [Scope("nothing", ("",), Permission.MANAGE)]


__all__ = [
    "ArtifactTooLarge",
    "Place",
    "Source",
    "delete",
    "list_children",
    "locate",
    "model_source",
    "open_file",
    "parse_path",
    "run_place",
    "scopes",
    "source_scopes",
    "write_stream",
]
