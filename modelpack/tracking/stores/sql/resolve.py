"""``runs:/`` and ``models:/`` URIs to local directories in an embedded (SQL) tracking store.

``runs:/<run_id>/<path>``, ``models:/<name>/<version>``, ``models:/<name>/<stage>``
(case-insensitive), ``models:/<name>/latest`` and ``models:/<name>@<alias>``.
A local artifact store is read in place; from a remote one (S3) a registered version
comes through the verified local cache (:mod:`~modelpack.tracking.snapshots.cache`) and a
run artifact is downloaded.
"""

from __future__ import annotations

from pathlib import Path

from modelpack.errors import InvalidURI, ModelNotFound, NotFound
from modelpack.tracking.snapshots.cache import cached_version, downloaded_artifact
from modelpack.tracking.snapshots.digest import blob_key
from modelpack.tracking.snapshots.verify import verify_version_dir
from modelpack.tracking.stores.sql import registry_read, runs
from modelpack.tracking.stores.sql.artifacts import artifact_store, run_artifact_key
from modelpack.tracking.stores.sql.engine import Store
from modelpack.tracking.uri_forms import parse_models_uri, parse_runs_uri


def models_uri_version(store: Store, uri: str) -> tuple[str, int]:
    """The (name, version) a ``models:/`` URI names; ``ModelNotFound`` if there is none."""
    name, kind, value = parse_models_uri(uri)
    if kind == "version":
        version = int(value)
        registry_read.get_model_version(store, name, version)
    elif kind == "latest":
        version = registry_read.latest_version(store, name)
    elif kind == "stage":
        version = registry_read.version_in_stage(store, name, value)
    else:
        version = registry_read.version_for_alias(store, name, value)
    return name, version


def resolve_models_uri(uri: str, store: Store, *, verify: bool = True) -> tuple[str, int, Path]:
    """(name, version, directory) of a ``models:/`` URI, from one lookup of the version, so
    the directory is always that version's even if an alias or stage moves meanwhile.
    The directory's files are verified against the digest the registry recorded, unless
    ``verify`` is false (then the caller runs :func:`~modelpack.tracking.snapshots.verify.
    verify_version_dir` before loading).

    >>> resolve_models_uri("models:/iris@champion")  # doctest: +SKIP
    ('iris', 3, PosixPath('/work/modelpack-store/artifacts/models/blobs/3f2a...'))
    """
    name, version = models_uri_version(store, uri)
    digest = store.read(
        "SELECT blob FROM model_versions WHERE name = ? AND version = ?", (name, version)
    )
    if not digest:
        raise ModelNotFound(f"registered model '{name}' version {version} was just deleted")
    return name, version, version_dir(store, name, version, digest[0][0], verify=verify)


def version_dir(store: Store, name: str, version: int, digest: str, *, verify: bool) -> Path:
    """The local directory of snapshot ``digest``, checked against it when ``verify``."""
    artifacts = artifact_store(store)
    local = artifacts.local_root
    if local is not None:
        root = local / blob_key(digest)
        return verify_version_dir(name, version, root) if verify else root

    def fetch(target: Path) -> None:
        artifacts.get_tree(blob_key(digest), target)

    origin = f"the artifact store ({artifacts.uri})"
    return cached_version(name, version, digest, fetch, origin, verify=verify)


def resolve_store_uri(uri: str, store: Store) -> Path:
    """The local directory a ``runs:/`` or ``models:/`` URI names in the current store.

    >>> resolve_store_uri("models:/iris/1")  # doctest: +SKIP
    PosixPath('/work/modelpack-store/artifacts/models/blobs/3f2a...')
    """
    if uri.startswith("models:"):
        return resolve_models_uri(uri, store)[2]
    if uri.startswith("runs:"):
        run_id, path = parse_runs_uri(uri)
        try:
            run = runs.get_run(store, run_id)
        except NotFound:
            raise ModelNotFound(
                f"no run '{run_id}' in the tracking store {store.location.tracking_uri}; "
                "check MODELPACK_TRACKING_URI"
            ) from None
        key = run_artifact_key(run.info.experiment_id, run_id)
        if path:
            key = f"{key}/{path}"
        artifacts = artifact_store(store)
        missing = f"run '{run_id}' has no artifact '{path or ''}'"
        if artifacts.local_root is None:
            return downloaded_artifact(artifacts, key, missing)
        target = artifacts.local_root / key
        try:
            found = target.exists()
        except OSError:  # a name the file system cannot look up (too long, say)
            found = False
        if not found:
            raise ModelNotFound(missing)
        return target
    raise InvalidURI("expected a runs:/ or models:/ URI")


__all__ = ["models_uri_version", "resolve_models_uri", "resolve_store_uri", "version_dir"]
