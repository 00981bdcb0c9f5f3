"""Where a tracking store lives: its URI resolved to a database file and an artifact root.

Resolving a location touches no database, so it is cheap and safe to call for
validation (``set_tracking_uri`` does, before anything is opened).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from modelpack.errors import InvalidURI
from modelpack.local_paths import local_path
from modelpack.tracking.artifact_stores.root import ArtifactRoot, parse_artifact_root

TRACKING_URI_ENV = "MODELPACK_TRACKING_URI"
ARTIFACT_ROOT_ENV = "MODELPACK_ARTIFACT_ROOT"
#: Default store directory; the name cannot shadow the ``modelpack`` package on sys.path.
DEFAULT_STORE_DIR = "modelpack-store"
DB_FILE = "modelpack.db"


_POSTGRES_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")
_ACCEPTED = "a directory, file://, sqlite:///path.db or postgresql://user@host:port/db"


def redact(uri: str) -> str:
    """``uri`` without its password: ``postgresql://me:***@db:5432/x``.

    >>> redact("postgresql://me:secret@db:5432/x")
    'postgresql://me:***@db:5432/x'
    """
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return uri
    authority, slash, tail = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at or ":" not in userinfo:
        return uri
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}{slash}{tail}"


@dataclass(frozen=True)
class StoreLocation:
    """The resolved places of one store: its database and its artifact root.

    ``url`` is the SQLAlchemy URL (it may hold a password: never print it; ``display``
    is the same place without one). ``db_path`` is the SQLite file, ``None`` for a
    database server. ``artifact_root`` is a local directory or an S3 bucket and prefix.
    """

    tracking_uri: str = field(repr=False)
    db_path: Path | None
    artifact_root: ArtifactRoot
    dialect: str = "sqlite"
    url: str = field(default="", repr=False)
    display: str = ""


def _artifact_root(default: Path | None) -> ArtifactRoot:
    artifact_env = os.environ.get(ARTIFACT_ROOT_ENV) or None
    if artifact_env:
        return parse_artifact_root(artifact_env)
    if default is None:
        raise InvalidURI(
            f"a database-server tracking store needs an artifact location: set {ARTIFACT_ROOT_ENV}"
            " to s3://bucket/prefix or a directory every client can reach"
        )
    return default


def _postgres(tracking_uri: str) -> StoreLocation:
    rest = tracking_uri.split("://", 1)[1]
    authority = rest.partition("/")[0]
    if not authority.rpartition("@")[2] or not rest.partition("/")[2]:
        raise InvalidURI(
            f"PostgreSQL tracking URI must look like postgresql://user:password@host:port/db, "
            f"got '{redact(tracking_uri)}'"
        )
    url = "postgresql+psycopg://" + rest
    return StoreLocation(
        tracking_uri, None, _artifact_root(None), "postgresql", url, redact(tracking_uri)
    )


def locate_store(tracking_uri: str) -> StoreLocation:
    """Resolve a tracking URI (``sqlite:///file.db``, a directory, ``file://dir``, ``postgresql://``).

    ``sqlite:///rel.db`` is relative and ``sqlite:////abs.db`` absolute, as in
    SQLAlchemy and MLflow.

    >>> locate_store("sqlite:////tmp/t.db").db_path
    PosixPath('/tmp/t.db')
    """
    if not isinstance(tracking_uri, str) or not tracking_uri or "\x00" in tracking_uri:
        raise InvalidURI("tracking URI must be a non-empty string without NUL characters")
    if tracking_uri.startswith(_POSTGRES_SCHEMES):
        return _postgres(tracking_uri)
    if tracking_uri.startswith("sqlite:"):
        if not tracking_uri.startswith("sqlite:///") or tracking_uri == "sqlite:///":
            raise InvalidURI(
                "sqlite tracking URI must look like 'sqlite:///relative.db' or "
                "'sqlite:////absolute/path.db'"
            )
        db_path = Path(tracking_uri[len("sqlite:///") :]).expanduser().resolve()
        root = db_path.parent / "artifacts"
    else:
        directory = local_path(tracking_uri, what="tracking URI", accepted=_ACCEPTED).resolve()
        if directory.is_file():
            raise InvalidURI(
                f"tracking URI '{tracking_uri}' is a file; use a directory or sqlite:///file.db"
            )
        db_path = directory / DB_FILE
        root = directory / "artifacts"
    return StoreLocation(
        tracking_uri, db_path, _artifact_root(root), "sqlite", f"sqlite:///{db_path}", str(db_path)
    )


__all__ = [
    "ARTIFACT_ROOT_ENV",
    "DB_FILE",
    "DEFAULT_STORE_DIR",
    "TRACKING_URI_ENV",
    "StoreLocation",
    "locate_store",
    "redact",
]
