"""What a model directory may hold, checked with ``lstat`` before anything is opened.

A model directory holds regular files and directories, nothing else. A named pipe
(FIFO) would hang the reader that opens it, a device or a socket is not data, and a
symbolic link that leads outside lets a model read files it does not own. Each is
refused by its relative name before any file is opened; a file is then opened with
``O_NOFOLLOW | O_NONBLOCK`` and checked again, so a swap between the two steps cannot
make a reader follow a link or block on a pipe.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from modelpack.errors import ModelFormatError, UnsafePathError, UnsupportedFileError

_CHUNK = 1 << 20
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


def kind_of(mode: int) -> str:
    """Words for what a non-regular file is, for error messages."""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def _not_regular(relative: str, mode: int) -> ModelFormatError:
    if stat.S_ISLNK(mode):
        return UnsafePathError(
            f"'{relative}' in the model directory is a symlink; a saved model holds regular "
            "files only: copy the file it points to into the model directory instead"
        )
    return UnsupportedFileError(
        f"'{relative}' in the model directory is {kind_of(mode)}, expected a regular file; "
        "remove it (or save the model again)"
    )


def check_regular(path: Path, relative: str) -> os.stat_result:
    """``lstat`` of ``path``, which must be a regular file (``relative`` names it in errors)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise ModelFormatError(f"'{relative}' is missing from the model directory") from None
    except OSError as exc:
        raise ModelFormatError(f"'{relative}' in the model directory: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise _not_regular(relative, info.st_mode)
    return info


def open_regular(path: Path, relative: str) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file: never a link, FIFO or device.

    >>> with open_regular(Path("m/MLmodel"), "MLmodel") as handle:  # doctest: +SKIP
    ...     text = handle.read()
    """
    check_regular(path, relative)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:  # ELOOP: it became a link after the lstat
        raise ModelFormatError(
            f"'{relative}' in the model directory cannot be opened: {exc.strerror}"
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(relative, mode)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


@dataclass
class Listing:
    """A model directory's contents: its subdirectories and its files.

    ``files`` maps each file's relative POSIX name to the regular file holding its
    bytes: the file itself, or for a link that stays inside, the file it points to.
    """

    dirs: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def scan_tree(root: Path, *, inner_links: bool) -> Listing:
    """Walk ``root`` without following links; refuse anything but files and directories.

    ``inner_links`` allows a symbolic link to a regular file inside ``root`` (directories
    MLflow wrote carry no hashes and may hold one); a link that leads outside, a link to
    a directory, a FIFO, a socket and a device are always refused by name.

    >>> sorted(scan_tree(Path("models/iris"), inner_links=False).files)  # doctest: +SKIP
    ['MLmodel', 'model.skops', 'python_env.yaml', 'requirements.txt']
    """
    listing = Listing()
    pending = [""]
    while pending:
        prefix = pending.pop()
        try:
            with os.scandir(root / prefix if prefix else root) as entries:
                found = sorted((entry.name, entry.stat(follow_symlinks=False)) for entry in entries)
        except OSError as exc:
            where = prefix or "."
            raise ModelFormatError(
                f"'{where}' in the model directory cannot be listed: {exc.strerror}"
            ) from None
        for name, info in found:
            relative = f"{prefix}/{name}" if prefix else name
            if stat.S_ISDIR(info.st_mode):
                listing.dirs.append(relative)
                pending.append(relative)
            elif stat.S_ISREG(info.st_mode):
                listing.files[relative] = root / relative
            elif stat.S_ISLNK(info.st_mode):
                listing.files[relative] = _inner_link(root, relative, inner_links)
            else:
                raise _not_regular(relative, info.st_mode)
    listing.dirs.sort()
    return listing


def _inner_link(root: Path, relative: str, allowed: bool) -> Path:
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise UnsafePathError(
            f"'{relative}' in the model directory is a symlink that leads outside it; "
            "copy the file into the model directory instead"
        )
    if not allowed:
        raise _not_regular(relative, stat.S_IFLNK)
    try:
        mode = os.stat(target).st_mode
    except OSError:
        raise ModelFormatError(f"'{relative}' in the model directory is a broken link") from None
    if not stat.S_ISREG(mode):
        raise UnsupportedFileError(
            f"'{relative}' in the model directory is a link to {kind_of(mode)}, expected a "
            "regular file; replace the link with the file itself"
        )
    return target


def copy_listing(listing: Listing, dest: Path) -> None:
    """Copy what :func:`scan_tree` listed into the new directory ``dest``: directories
    and regular files only, each checked again as it is opened."""
    dest.mkdir()
    for relative in listing.dirs:
        (dest / relative).mkdir()
    for relative, source in listing.files.items():
        with open_regular(source, relative) as src, (dest / relative).open("xb") as out:
            shutil.copyfileobj(src, out, _CHUNK)


__all__ = ["Listing", "check_regular", "copy_listing", "kind_of", "open_regular", "scan_tree"]
