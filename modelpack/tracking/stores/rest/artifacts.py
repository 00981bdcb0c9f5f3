"""Run artifacts through a tracking server's artifact proxy
(``/api/2.0/mlflow-artifacts/artifacts/...``): clients need no S3 keys, only the server.

Uploads stream each file; downloads stream into a fresh directory that is renamed into
place whole, so a reader never sees half a tree. Every path the server lists is checked
before anything is written: a listing cannot place a file outside the target.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from modelpack.errors import ModelNotFound, NotFound, StoreError
from modelpack.tracking.names import check_artifact_path
from modelpack.tracking.snapshots.digest import list_files
from modelpack.tracking.stores.rest.http import HttpSession

_PROXY_SCHEME = "mlflow-artifacts:"
#: directories deeper than this in one artifact listing are refused (a looping server)
_MAX_DEPTH = 64


def proxy_path(artifact_uri: str, where: str) -> str:
    """The artifact-proxy path of a run's or version's ``mlflow-artifacts:`` URI.

    >>> proxy_path("mlflow-artifacts:/1/abc/artifacts", "h:1")
    '1/abc/artifacts'
    """
    if not artifact_uri.startswith(_PROXY_SCHEME):
        raise StoreError(
            f"the tracking server {where} keeps this run's artifacts outside its artifact proxy; "
            "start it with artifact serving on (mlflow server --serve-artifacts, or "
            "modelpack server --artifacts-destination) so clients can read and write them"
        )
    path = unquote(urlsplit(artifact_uri).path).strip("/")
    return "/".join(part for part in path.split("/") if part not in ("", "."))


def _remote(*parts: str) -> str:
    return quote("/".join(p.strip("/") for p in parts if p.strip("/")), safe="/")


def upload_file(http: HttpSession, root: str, local: Path, relative: str) -> None:
    """Stream the file ``local`` to ``root/relative``."""
    http.upload(_remote(root, check_artifact_path(relative)), local)


def upload_tree(http: HttpSession, root: str, local_dir: Path, under: str | None) -> None:
    """Stream every file of ``local_dir`` to ``root/under``, keeping the layout."""
    for relative in list_files(local_dir):
        target = f"{under}/{relative.as_posix()}" if under else relative.as_posix()
        upload_file(http, root, local_dir / relative, target)


def upload_bytes(http: HttpSession, root: str, data: bytes, relative: str) -> None:
    http.upload_bytes(_remote(root, check_artifact_path(relative)), data)


def list_tree(http: HttpSession, root: str, under: str | None) -> list[tuple[str, bool]]:
    """Every file below ``root/under`` as (path relative to ``root``, is_dir=False), sorted."""
    found: list[tuple[str, bool]] = []
    pending = [(check_artifact_path(under) if under else "", 0)]
    while pending:
        directory, depth = pending.pop()
        if depth > _MAX_DEPTH:
            raise StoreError(f"the tracking server {http.where} lists artifacts nested too deep")
        for entry in http.listing(_remote(root, directory)):
            name = entry["path"].rstrip("/").rsplit("/", 1)[-1]
            relative = check_artifact_path(f"{directory}/{name}" if directory else name)
            if entry.get("is_dir"):
                pending.append((relative, depth + 1))
            else:
                found.append((relative, False))
    return sorted(found)


def download_tree(
    http: HttpSession, root: str, under: str | None, target_parent: Path
) -> tuple[Path, bool]:
    """Download ``root/under`` (a directory or one file) into a new directory in
    ``target_parent``; returns the new directory, and whether ``under`` was one file
    (then the directory holds just that file)."""
    fresh = target_parent / f".download-{uuid.uuid4().hex}"
    fresh.mkdir(parents=True)
    single = False
    try:
        files = [path for path, _ in list_tree(http, root, under)]
        prefix = f"{under}/" if under else ""
        if files:
            for relative in files:
                local = fresh / relative[len(prefix) :]
                local.parent.mkdir(parents=True, exist_ok=True)
                http.download(_remote(root, relative), local)
        elif under:  # not a directory: perhaps one file
            name = under.rsplit("/", 1)[-1]
            http.download(_remote(root, under), fresh / name, missing=ModelNotFound)
            single = True
        else:
            raise ModelNotFound(f"the tracking server {http.where} has no artifacts here")
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return fresh, single


def fresh_staging() -> Path:
    """A new local directory to save a model into before it is uploaded."""
    return Path(tempfile.mkdtemp(prefix="modelpack-stage-"))


def artifact_missing(run_id: str, path: str | None) -> NotFound:
    return ModelNotFound(f"run '{run_id}' has no artifact '{path or ''}'")


__all__ = [
    "artifact_missing",
    "download_tree",
    "fresh_staging",
    "list_tree",
    "proxy_path",
    "upload_bytes",
    "upload_file",
    "upload_tree",
]
