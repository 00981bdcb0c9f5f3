"""Where a tracking store lives: its URI resolved to a database file and an artifact root.

Resolving a location touches no database, so it is cheap and safe to call for
validation (``set_tracking_uri`` does, before anything is opened).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from modelpack.errors import InvalidURI
from modelpack.local_paths import local_path

TRACKING_URI_ENV = "MODELPACK_TRACKING_URI"
ARTIFACT_ROOT_ENV = "MODELPACK_ARTIFACT_ROOT"
#: Default store directory; the name cannot shadow the ``modelpack`` package on sys.path.
DEFAULT_STORE_DIR = "modelpack-store"
DB_FILE = "modelpack.db"


@dataclass(frozen=True)
class StoreLocation:
    """The resolved places of one store: its database file and artifact root."""

    tracking_uri: str
    db_path: Path
    artifact_root: Path


def locate_store(tracking_uri: str) -> StoreLocation:
    """Resolve a tracking URI (``sqlite:///file.db``, a directory, ``file://dir``).

    ``sqlite:///rel.db`` is relative and ``sqlite:////abs.db`` absolute, as in
    SQLAlchemy and MLflow.

    >>> locate_store("sqlite:////tmp/t.db").db_path
    PosixPath('/tmp/t.db')
    """
    if not isinstance(tracking_uri, str) or not tracking_uri or "\x00" in tracking_uri:
        raise InvalidURI("tracking URI must be a non-empty string without NUL characters")
    artifact_env = os.environ.get(ARTIFACT_ROOT_ENV) or None
    if tracking_uri.startswith("sqlite:"):
        if not tracking_uri.startswith("sqlite:///") or tracking_uri == "sqlite:///":
            raise InvalidURI(
                "sqlite tracking URI must look like 'sqlite:///relative.db' or "
                "'sqlite:////absolute/path.db'"
            )
        db_path = Path(tracking_uri[len("sqlite:///") :]).expanduser().resolve()
        root = db_path.parent / "artifacts"
    else:
        directory = local_path(
            tracking_uri, what="tracking URI", accepted="a directory, file:// or sqlite:///path.db"
        ).resolve()
        if directory.is_file():
            raise InvalidURI(
                f"tracking URI '{tracking_uri}' is a file; use a directory or sqlite:///file.db"
            )
        db_path = directory / DB_FILE
        root = directory / "artifacts"
    artifact_root = Path(artifact_env).expanduser().resolve() if artifact_env else root
    return StoreLocation(tracking_uri, db_path, artifact_root)


__all__ = [
    "ARTIFACT_ROOT_ENV",
    "DB_FILE",
    "DEFAULT_STORE_DIR",
    "TRACKING_URI_ENV",
    "StoreLocation",
    "locate_store",
]
