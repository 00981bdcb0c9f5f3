"""The model directory on disk: integrity hashes, and paths that stay inside.

Every file but ``MLmodel`` is recorded in ``MLmodel`` with its SHA-256. Loading
verifies them and refuses, by name, a changed or truncated file and a file that is
not in the table: an added file is refused like a changed one, whatever it is
(``__pycache__``, ``.DS_Store``, a stray editor backup), because a loader may pick it
up (Python loads a ``.pyc`` in place of its source). Directories MLflow wrote carry no
table and load as they are. Everywhere a model directory is read, only regular files
and directories are accepted (see :mod:`modelpack.model_files`). Saves are atomic and
crash-safe (see :mod:`modelpack.atomic_save`).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from modelpack.atomic_save import recover_interrupted_save, staged_model_dir
from modelpack.errors import (
    IntegrityError,
    ModelFormatError,
    UnsafePathError,
    UnsupportedFileError,
)
from modelpack.mlmodel import HASHES_KEY, MLMODEL_FILE, PYFUNC_FLAVOR, read_mlmodel, write_mlmodel
from modelpack.model_files import Listing, check_regular, kind_of, open_regular, scan_tree
from modelpack.types import JSONDict

_CHUNK = 1 << 20


def safe_join(model_dir: str | os.PathLike[str], relative: object, *, what: str) -> Path:
    """``model_dir / relative``, refusing anything that leads outside ``model_dir``.

    ``what`` names the field the path came from, for the error message. Absolute
    paths, ``..`` components and symlinks that resolve outside are all refused.

    >>> safe_join("/m", "model.pkl", what="sklearn.pickled_model")
    PosixPath('/m/model.pkl')
    """
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        raise UnsafePathError(f"{what}: expected a relative path inside the model directory")
    pure = PurePosixPath(relative.replace("\\", "/"))
    if not pure.parts:  # "." or "./": the directory itself, not a file in it
        raise UnsafePathError(
            f"{what}: expected a file or directory inside the model directory, got only '.' "
            "and '/'; name the payload file"
        )
    if pure.is_absolute() or relative.startswith(("/", "\\")) or ":" in pure.parts[0]:
        raise UnsafePathError(
            f"{what}: absolute path refused; it must be inside the model directory"
        )
    if ".." in pure.parts:
        raise UnsafePathError(
            f"{what}: '..' refused; the path must stay inside the model directory"
        )
    root = Path(model_dir)
    candidate = root.joinpath(*pure.parts)
    # with no '..' and no absolute path, only a link below the root can lead outside it;
    # resolving (a realpath of every component, the root's too) is for that case only
    if _link_below(os.fspath(root), pure.parts):
        resolved_root = root.resolve()
        resolved = candidate.resolve()
        if resolved != resolved_root and resolved_root not in resolved.parents:
            raise UnsafePathError(
                f"{what}: '{relative}' leads outside the model directory (symlink)"
            )
    return candidate


def _link_below(root: str, parts: tuple[str, ...]) -> bool:
    """Whether one of ``root/parts[0]``, ``root/parts[0]/parts[1]``… is a symbolic link
    (a missing or unreadable component ends the walk: there is nothing to follow)."""
    current = root
    for part in parts:
        current = os.path.join(current, part)
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            return False
        if stat.S_ISLNK(mode):
            return True
    return False


def model_file(model_dir: str | os.PathLike[str], relative: object, *, what: str) -> Path:
    """``safe_join`` for a file a reader is about to open: it must also be a regular file
    (not a link, a FIFO, a socket or a device), checked with ``lstat`` before any open.

    >>> model_file("/m", "python_env.yaml", what="python_function.env")  # doctest: +SKIP
    PosixPath('/m/python_env.yaml')
    """
    path = safe_join(model_dir, relative, what=what)
    check_regular(path, str(relative))
    return path


def _sha256(path: Path, relative: str) -> str:
    digest = hashlib.sha256()
    with open_regular(path, relative) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_payload(model_dir: str | os.PathLike[str]) -> dict[str, str]:
    """``{relative posix path: sha256}`` for every file in the directory but ``MLmodel``.

    Refuses a symlink, a FIFO, a socket or a device anywhere in the directory."""
    files = scan_tree(Path(model_dir), inner_links=False).files
    return {rel: _sha256(path, rel) for rel, path in files.items() if rel != MLMODEL_FILE}


def finalize(model_dir: str | os.PathLike[str], mlmodel: JSONDict) -> None:
    """Record the payload hashes in ``mlmodel`` and write it; the last step of a save."""
    mlmodel[HASHES_KEY] = hash_payload(model_dir)
    write_mlmodel(model_dir, mlmodel)


def _hash_table(mlmodel: JSONDict) -> dict[str, str] | None:
    hashes = mlmodel.get(HASHES_KEY)
    if hashes is None:
        return None
    if not isinstance(hashes, dict) or not all(isinstance(v, str) for v in hashes.values()):
        raise IntegrityError(
            f"{MLMODEL_FILE}: '{HASHES_KEY}' must map file names to SHA-256 digests"
        )
    return hashes


def _declared_paths(mlmodel: JSONDict) -> Iterator[tuple[str, object, bool]]:
    """(field, relative path, required) of the files ``MLmodel`` names outside the table."""
    pyfunc = mlmodel["flavors"].get(PYFUNC_FLAVOR) or {}
    for key in ("data", "python_model"):
        if pyfunc.get(key) is not None:
            yield f"{PYFUNC_FLAVOR}.{key}", pyfunc[key], True
    env = pyfunc.get("env")
    named = {f"env.{k}": v for k, v in env.items()} if isinstance(env, dict) else {"env": env}
    for name, relative in named.items():
        if isinstance(relative, str):
            yield f"{PYFUNC_FLAVOR}.{name}", relative, False
    example = mlmodel.get("saved_input_example_info")
    if isinstance(example, dict):
        for key in ("artifact_path", "serving_input_path"):
            if isinstance(example.get(key), str):
                yield f"saved_input_example_info.{key}", example[key], False


def _check_declared(root: Path, mlmodel: JSONDict, hashes: dict[str, str] | None) -> None:
    for relative in hashes or {}:
        path = safe_join(root, relative, what=f"{HASHES_KEY} entry")
        if not os.path.lexists(path):
            raise IntegrityError(f"payload file '{relative}' is missing from the model directory")
        check_regular(path, relative)
    for what, declared, required in _declared_paths(mlmodel):
        path = safe_join(root, declared, what=what)
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            if required:
                raise ModelFormatError(
                    f"'{declared}' named by {MLMODEL_FILE} ({what}) is missing from the model "
                    "directory; save the model again"
                ) from None
            continue
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise UnsupportedFileError(
                f"'{declared}' named by {MLMODEL_FILE} ({what}) is {kind_of(mode)}, expected a "
                "regular file or a directory"
            )


def _check_listed(listing: Listing, hashes: dict[str, str]) -> None:
    extra = [rel for rel in listing.files if rel != MLMODEL_FILE and rel not in hashes]
    if extra:
        shown = ", ".join(f"'{rel}'" for rel in extra[:5])
        more = f" and {len(extra) - 5} more" if len(extra) > 5 else ""
        raise IntegrityError(
            f"the model directory holds {len(extra)} file(s) that are not in the SHA-256 table "
            f"of {MLMODEL_FILE}: {shown}{more}; a file added after the model was saved is "
            "refused like a changed one: remove it, or save the model again"
        )


def inspect_model_dir(model_dir: str | os.PathLike[str]) -> tuple[JSONDict, Listing]:
    """Check a model directory without reading its payload; return ``MLmodel`` and its files.

    ``MLmodel`` is read first, so a directory that is not a model is refused before it is
    walked; then the files ``MLmodel`` names are checked, and only then is the tree
    listed (with ``lstat``: a FIFO, socket, device or a link that leads outside is
    refused by name, and, when ``MLmodel`` has a hash table, any file not in it).

    >>> mlmodel, listing = inspect_model_dir("path/to/model")  # doctest: +SKIP
    """
    root = Path(model_dir)
    if not os.path.lexists(root):
        recover_interrupted_save(root)
    mlmodel = read_mlmodel(root)
    hashes = _hash_table(mlmodel)
    _check_declared(root, mlmodel, hashes)
    listing = scan_tree(root, inner_links=hashes is None)
    if hashes is not None:
        _check_listed(listing, hashes)
    return mlmodel, listing


def verify_model_dir(model_dir: str | os.PathLike[str]) -> JSONDict:
    """Check a model directory and every recorded payload hash; return the MLmodel dict.

    Refuses by name a file that was changed, truncated, removed or added since the save,
    and anything that is not a regular file or directory. Directories written by MLflow
    carry no hashes: their files are checked for type and links, not content.

    >>> mlmodel = verify_model_dir("path/to/model")  # doctest: +SKIP
    """
    mlmodel, listing = inspect_model_dir(model_dir)
    hashes = _hash_table(mlmodel)
    for relative, expected in (hashes or {}).items():
        path = listing.files.get(relative)
        if path is None:  # e.g. "./model.bin": not a name hash_payload writes
            raise IntegrityError(
                f"{MLMODEL_FILE}: '{HASHES_KEY}' entry '{relative}' is not the plain relative "
                "name of a file in the model directory; save the model again"
            )
        if _sha256(path, relative) != expected:
            raise IntegrityError(
                f"payload file '{relative}' does not match the SHA-256 recorded in {MLMODEL_FILE}: "
                "it was modified or truncated after the model was saved; save the model again"
            )
    return mlmodel


__all__ = [
    "finalize",
    "hash_payload",
    "inspect_model_dir",
    "model_file",
    "safe_join",
    "staged_model_dir",
    "verify_model_dir",
]
