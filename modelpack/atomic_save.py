"""Saving a model directory so that a crash at any point leaves a model under its name.

A model is written into ``.<name>.tmp-<host>-<pid>-<token>`` beside its target. When
the block succeeds, under an advisory lock on the parent directory, an old model is
renamed aside to ``.<name>.old-<time>-<token>``, the new one renamed into place, and
the old one deleted. A process killed at any moment leaves one of three states, and
the next save (or load) repairs each:

* killed while writing: the target is untouched; the temporary directory is removed
  by the next save once its writer is dead (same host) or it is older than a day;
* killed between the two renames: the target is missing but the aside copy exists;
  the next save or load renames it back, so the previous model is served;
* killed before the aside copy was deleted: the next save deletes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from modelpack.errors import AlreadyExists, InvalidInput
from modelpack.mlmodel import MLMODEL_FILE

#: A temporary directory of a writer on another host is only removed after this long.
STALE_AFTER_SECONDS = 24 * 3600


def _stem(target: Path) -> str:
    """The part of the sibling names that stands for ``target``: its name, shortened with
    a hash when long, so that ``.<stem>.tmp-…`` still fits in a file name."""
    name = target.name
    if len(name) <= 120:
        return name
    return f"{name[:80]}~{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def _host() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _tmp_prefix(target: Path) -> str:
    return f".{_stem(target)}.tmp-"


def _aside_prefix(target: Path) -> str:
    return f".{_stem(target)}.old-"


def _siblings(target: Path, prefix: str) -> list[Path]:
    try:
        return sorted(p for p in target.parent.iterdir() if p.name.startswith(prefix))
    except OSError:
        return []


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a temporary file's writer, say)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _is_stale(tmp: Path, prefix: str) -> bool:
    """A temporary directory nobody is writing: its writer on this host is dead, or it
    is older than :data:`STALE_AFTER_SECONDS` (another host's, or an older layout's)."""
    host, _, rest = tmp.name[len(prefix) :].partition("-")
    pid = rest.partition("-")[0]
    if host == _host() and pid.isdigit() and int(pid) != os.getpid():
        return not pid_alive(int(pid))
    try:
        age = time.time() - tmp.lstat().st_mtime
    except OSError:
        return False
    return age > STALE_AFTER_SECONDS


@contextlib.contextmanager
def _parent_lock(target: Path) -> Iterator[None]:
    """An exclusive advisory lock on ``target``'s parent directory (best effort: where
    ``flock`` is missing or refused, saves run unlocked, as they did before)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux or macOS
        yield
        return
    try:
        fd = os.open(target.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        yield
        return
    try:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _restore_aside(target: Path) -> None:
    """Under the lock: if ``target`` is missing and an aside copy exists, rename it back."""
    if os.path.lexists(target):
        return
    asides = _siblings(target, _aside_prefix(target))
    if asides:
        os.rename(max(asides, key=lambda p: p.name), target)


def recover_interrupted_save(path: str | os.PathLike[str]) -> None:
    """Put back the previous model at ``path`` if a save was killed between its renames.

    Called by loaders before they report a model missing; does nothing (and takes no
    lock) unless ``path`` is missing and an aside copy of it exists. Failures (a
    read-only directory) are left for the caller's own "not found" error.

    >>> recover_interrupted_save("models/iris")  # doctest: +SKIP
    """
    target = Path(path)
    if target.name in ("", ".", "..") or os.path.lexists(target):
        return
    if not _siblings(target, _aside_prefix(target)):
        return
    with contextlib.suppress(OSError), _parent_lock(target):
        _restore_aside(target)


def _leftovers(target: Path) -> list[Path]:
    """Under the lock: restore an interrupted overwrite, then list what killed saves left
    behind (stale temporary directories, aside copies) for the caller to delete."""
    _restore_aside(target)
    prefix = _tmp_prefix(target)
    stale = [tmp for tmp in _siblings(target, prefix) if _is_stale(tmp, prefix)]
    return stale + _siblings(target, _aside_prefix(target))


def _remove(path: Path) -> None:
    """Delete a leftover; a link (a target that was a link, moved aside) is unlinked."""
    if path.is_symlink():
        with contextlib.suppress(OSError):
            path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _check_target(target: Path, overwrite: bool) -> None:
    if target.exists() and not target.is_dir():
        raise AlreadyExists(f"'{target}' exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise AlreadyExists(
            f"'{target}' already exists and is not empty; choose another path or pass overwrite=True"
        )


@contextlib.contextmanager
def staged_model_dir(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary directory that becomes ``path`` when the block succeeds.

    On an exception the temporary directory is removed and ``path`` is untouched. An
    existing non-empty ``path`` is an error unless ``overwrite`` is true, in which
    case the old model is replaced only after the new one is complete. See the module
    docstring for what a crash leaves and how the next save repairs it.

    >>> with staged_model_dir("out/model") as tmp:  # doctest: +SKIP
    ...     (tmp / "model.pkl").write_bytes(payload)
    ...     finalize(tmp, mlmodel)
    """
    target = Path(path)
    if str(path) == "" or target.name in ("", ".", ".."):
        raise InvalidInput("model path must name a directory to create, e.g. 'models/iris'")
    target.parent.mkdir(parents=True, exist_ok=True)
    leftovers: list[Path] = []
    try:
        with _parent_lock(target):
            leftovers = _leftovers(target)
            _check_target(target, overwrite)
    finally:
        for leftover in leftovers:  # nobody else uses them: deleted without the lock
            _remove(leftover)
    token = uuid.uuid4().hex[:12]
    tmp = target.with_name(f"{_tmp_prefix(target)}{_host()}-{os.getpid()}-{token}")
    tmp.mkdir()
    try:
        yield tmp
        if not (tmp / MLMODEL_FILE).is_file():
            raise InvalidInput("internal: a staged model was not finalized (no MLmodel written)")
        aside = target.with_name(f"{_aside_prefix(target)}{time.time_ns()}-{token}")
        with _parent_lock(target):
            _restore_aside(target)
            _check_target(target, overwrite)
            moved = target.exists()
            if moved:
                os.replace(target, aside)
            try:
                os.replace(tmp, target)
            except BaseException:
                if moved:
                    os.replace(aside, target)
                raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if moved:
        _remove(aside)


__all__ = ["STALE_AFTER_SECONDS", "pid_alive", "recover_interrupted_save", "staged_model_dir"]
