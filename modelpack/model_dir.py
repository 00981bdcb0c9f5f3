"""The model directory on disk: atomic saves, integrity hashes, paths that stay inside.

A model is written into a temporary directory beside its target and renamed into
place, so a crash never leaves a half-written model under the target name. Every
file but ``MLmodel`` is recorded in ``MLmodel`` with its SHA-256; loading verifies
them and refuses a tampered or truncated file by name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from modelpack.errors import AlreadyExists, IntegrityError, InvalidInput, UnsafePathError
from modelpack.mlmodel import HASHES_KEY, MLMODEL_FILE, read_mlmodel, write_mlmodel
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
    resolved_root = root.resolve()
    resolved = candidate.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise UnsafePathError(f"{what}: '{relative}' leads outside the model directory (symlink)")
    return candidate


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _payload_files(model_dir: Path) -> Iterator[Path]:
    for path in sorted(model_dir.rglob("*")):
        if path.is_symlink():
            raise UnsafePathError(
                f"'{path.relative_to(model_dir)}' is a symlink; a model directory must hold "
                "real files so that it can be copied and verified"
            )
        if path.is_file() and path.relative_to(model_dir).as_posix() != MLMODEL_FILE:
            yield path


def hash_payload(model_dir: str | os.PathLike[str]) -> dict[str, str]:
    """``{relative posix path: sha256}`` for every file in the directory but ``MLmodel``."""
    root = Path(model_dir)
    return {p.relative_to(root).as_posix(): _sha256(p) for p in _payload_files(root)}


def finalize(model_dir: str | os.PathLike[str], mlmodel: JSONDict) -> None:
    """Record the payload hashes in ``mlmodel`` and write it; the last step of a save."""
    mlmodel[HASHES_KEY] = hash_payload(model_dir)
    write_mlmodel(model_dir, mlmodel)


def verify_model_dir(model_dir: str | os.PathLike[str]) -> JSONDict:
    """Read ``MLmodel`` and check every recorded payload hash; return the MLmodel dict.

    Directories written by MLflow carry no hashes and are accepted as they are.

    >>> mlmodel = verify_model_dir("path/to/model")  # doctest: +SKIP
    """
    root = Path(model_dir)
    mlmodel = read_mlmodel(root)
    hashes = mlmodel.get(HASHES_KEY)
    if hashes is None:
        return mlmodel
    if not isinstance(hashes, dict):
        raise IntegrityError(
            f"{MLMODEL_FILE}: '{HASHES_KEY}' must map file names to SHA-256 digests"
        )
    for relative, expected in hashes.items():
        path = safe_join(root, relative, what=f"{HASHES_KEY} entry")
        if not path.is_file():
            raise IntegrityError(f"payload file '{relative}' is missing from the model directory")
        if _sha256(path) != expected:
            raise IntegrityError(
                f"payload file '{relative}' does not match the SHA-256 recorded in {MLMODEL_FILE}: "
                "it was modified or truncated after the model was saved; save the model again"
            )
    return mlmodel


@contextlib.contextmanager
def staged_model_dir(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary directory that becomes ``path`` when the block succeeds.

    On an exception the temporary directory is removed and ``path`` is untouched. An
    existing non-empty ``path`` is an error unless ``overwrite`` is true, in which
    case the old model is replaced only after the new one is complete.

    >>> with staged_model_dir("out/model") as tmp:  # doctest: +SKIP
    ...     (tmp / "model.pkl").write_bytes(payload)
    ...     finalize(tmp, mlmodel)
    """
    target = Path(path)
    if str(path) == "" or target.name in ("", ".", ".."):
        raise InvalidInput("model path must name a directory to create, e.g. 'models/iris'")
    if target.exists() and not target.is_dir():
        raise AlreadyExists(f"'{target}' exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise AlreadyExists(
            f"'{target}' already exists and is not empty; choose another path or pass overwrite=True"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not (tmp / MLMODEL_FILE).is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        raise InvalidInput("internal: a staged model was not finalized (no MLmodel written)")
    old: Path | None = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:12]}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


__all__ = ["finalize", "hash_payload", "safe_join", "staged_model_dir", "verify_model_dir"]
