"""``runs:/`` and ``models:/`` URIs to local directories in the tracking store.

``runs:/<run_id>/<path>``, ``models:/<name>/<version>``, ``models:/<name>/<stage>``
(case-insensitive), ``models:/<name>/latest`` and ``models:/<name>@<alias>``.
"""

from __future__ import annotations

from pathlib import Path

from modelpack.errors import InvalidInput, InvalidURI, ModelNotFound, NotFound
from modelpack.tracking import registry, runs
from modelpack.tracking.artifacts import blob_dir, run_artifact_dir
from modelpack.tracking.config import current_store
from modelpack.tracking.names import (
    check_artifact_path,
    check_name,
    check_run_id,
    check_stage,
    check_version,
)
from modelpack.tracking.store import Store

_FORMS = (
    "models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest "
    "or models:/<name>@<alias>"
)


def parse_models_uri(uri: str) -> tuple[str, str, str]:
    """Split a ``models:/`` URI into (name, kind, value); kind is version/stage/latest/alias.

    >>> parse_models_uri("models:/iris@champion")
    ('iris', 'alias', 'champion')
    """
    body = uri[len("models:") :]
    if not body.startswith("/") or body.startswith("//"):
        raise InvalidURI(f"model URI must look like {_FORMS}")
    body = body[1:]
    if "/" not in body and "@" in body:
        name, _, alias = body.rpartition("@")
        kind, value = "alias", alias
        if not alias:
            raise InvalidURI(f"model URI has an empty alias after '@'; expected {_FORMS}")
    else:
        parts = body.split("/")
        if len(parts) != 2 or not parts[1]:
            raise InvalidURI(f"model URI must look like {_FORMS}")
        name, ref = parts
        if ref.isascii() and ref.isdigit():
            try:
                kind, value = "version", str(check_version(ref))
            except InvalidInput as exc:
                raise InvalidURI(f"model URI has an invalid version: {exc.message}") from None
        elif ref.lower() == "latest":
            kind, value = "latest", ref
        else:
            try:
                kind, value = "stage", check_stage(ref)
            except InvalidInput:
                raise InvalidURI(
                    f"model URI part after the name must be a version number, a stage "
                    "(None, Staging, Production, Archived) or 'latest'; "
                    f"expected {_FORMS}"
                ) from None
    try:
        check_name(name)
    except InvalidInput as exc:
        raise InvalidURI(f"model URI has an invalid model name: {exc.message}") from None
    return name, kind, value


def models_uri_version(store: Store, uri: str) -> tuple[str, int]:
    """The (name, version) a ``models:/`` URI names; ``ModelNotFound`` if there is none."""
    name, kind, value = parse_models_uri(uri)
    if kind == "version":
        version = int(value)
        registry.get_model_version(store, name, version)
    elif kind == "latest":
        version = registry.latest_version(store, name)
    elif kind == "stage":
        version = registry.version_in_stage(store, name, value)
    else:
        version = registry.version_for_alias(store, name, value)
    return name, version


def parse_runs_uri(uri: str) -> tuple[str, str | None]:
    """Split ``runs:/<run_id>/<path>`` into (run_id, path or None).

    >>> parse_runs_uri("runs:/0123456789abcdef0123456789abcdef/model")
    ('0123456789abcdef0123456789abcdef', 'model')
    """
    body = uri[len("runs:") :]
    if not body.startswith("/") or body.startswith("//"):
        raise InvalidURI("run URI must look like runs:/<run_id>/<artifact path>")
    run_id, _, path = body[1:].partition("/")
    try:
        check_run_id(run_id)
    except InvalidInput:
        raise InvalidURI(
            "run URI must start with a 32-character hexadecimal run id: runs:/<run_id>/<path>"
        ) from None
    return run_id, (check_artifact_path(path) if path.strip("/") else None)


def resolve_models_uri(uri: str, store: Store | None = None) -> tuple[str, int, Path]:
    """(name, version, directory) of a ``models:/`` URI, from one lookup of the version, so
    the directory is always that version's even if an alias or stage moves meanwhile.

    >>> resolve_models_uri("models:/iris@champion")  # doctest: +SKIP
    ('iris', 3, PosixPath('/work/modelpack-store/artifacts/models/blobs/3f2a...'))
    """
    store = store or current_store()
    name, version = models_uri_version(store, uri)
    digest = store.read(
        "SELECT blob FROM model_versions WHERE name = ? AND version = ?", (name, version)
    )
    if not digest:
        raise ModelNotFound(f"registered model '{name}' version {version} was just deleted")
    return name, version, blob_dir(store, digest[0][0])


def resolve_store_uri(uri: str, store: Store | None = None) -> Path:
    """The local directory a ``runs:/`` or ``models:/`` URI names in the current store.

    >>> resolve_store_uri("models:/iris/1")  # doctest: +SKIP
    PosixPath('/work/modelpack-store/artifacts/models/blobs/3f2a...')
    """
    store = store or current_store()
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
        target = run_artifact_dir(store, run.info.experiment_id, run_id)
        if path:
            target = target / path
        try:
            found = target.exists()
        except OSError:  # a name the file system cannot look up (too long, say)
            found = False
        if not found:
            raise ModelNotFound(f"run '{run_id}' has no artifact '{path or ''}'")
        return target
    raise InvalidURI("expected a runs:/ or models:/ URI")


__all__ = [
    "models_uri_version",
    "parse_models_uri",
    "parse_runs_uri",
    "resolve_models_uri",
    "resolve_store_uri",
]
