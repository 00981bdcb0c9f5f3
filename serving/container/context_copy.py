"""Copy a model directory into a build context: regular files and directories only.

A link is never followed (its target may be a secret anywhere on the machine), and a
FIFO, socket or device is never opened (reading one blocks or yields endless data).
Each is refused by name before anything is written, and the copy itself opens every
file with ``O_NOFOLLOW`` and checks it is still a regular file, so an entry swapped for
a link in between is refused too. Copies are world-readable (0644, directories 0755):
the image runs as a non-root user that must read the model.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from modelpack.errors import ModelFormatError, UnsafePathError

_CHUNK = 1 << 20
_KINDS = {
    stat.S_IFLNK: "a symlink",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _refuse(relative: str, mode: int) -> UnsafePathError:
    kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
    return UnsafePathError(
        f"'{relative}' in the model directory is {kind}; a build context holds only regular "
        "files and directories and never follows links — replace it with a regular file "
        "(or remove it) and save the model again"
    )


def check_model_tree(source: Path) -> list[str]:
    """Every entry below ``source`` as a relative posix path, directories before their
    contents; a link, FIFO, socket or device anywhere is refused by name."""
    out: list[str] = []
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            with os.scandir(source / relative if relative else source) as entries:
                listed = sorted((e.name, e.stat(follow_symlinks=False)) for e in entries)
        except OSError as exc:
            where = f"'{relative}' in the model directory" if relative else f"'{source}'"
            raise ModelFormatError(f"cannot list {where}: {exc.strerror}") from None
        for name, info in listed:
            path = f"{relative}/{name}" if relative else name
            if stat.S_ISDIR(info.st_mode):
                pending.append(path)
            elif not stat.S_ISREG(info.st_mode):
                raise _refuse(path, info.st_mode)
            out.append(path)
    return out


def copy_model_tree(source: Path, target: Path) -> None:
    """Copy the model directory ``source`` to the new directory ``target``.

    >>> copy_model_tree(Path("models/iris"), Path("ctx/model"))  # doctest: +SKIP
    """
    entries = check_model_tree(source)
    target.mkdir(mode=0o755)
    for relative in entries:
        src, dst = source / relative, target / relative
        mode = os.lstat(src).st_mode
        if stat.S_ISDIR(mode):
            dst.mkdir(mode=0o755)
            continue
        if not stat.S_ISREG(mode):
            raise _refuse(relative, mode)
        _copy_file(src, dst, relative)


def _copy_file(src: Path, dst: Path, relative: str) -> None:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(src, flags)
    except OSError as exc:
        if os.path.islink(src):  # became a link after the check (ELOOP)
            raise _refuse(relative, stat.S_IFLNK) from None
        raise exc
    with os.fdopen(fd, "rb") as reader:
        mode = os.fstat(reader.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(relative, mode)
        os.set_blocking(reader.fileno(), True)
        with open(dst, "xb") as writer:
            while chunk := reader.read(_CHUNK):
                writer.write(chunk)
    os.chmod(dst, 0o644)


__all__ = ["check_model_tree", "copy_model_tree"]
