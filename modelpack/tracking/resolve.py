"""``runs:/`` and ``models:/`` URIs to local directories, through the current tracking store
(the embedded store's own files, or a verified download from a tracking server).

``runs:/<run_id>/<path>``, ``models:/<name>/<version>``, ``models:/<name>/<stage>``
(case-insensitive), ``models:/<name>/latest`` and ``models:/<name>@<alias>``.
"""

from __future__ import annotations

from pathlib import Path

from modelpack.tracking.stores.backend import current_tracking_store
from modelpack.tracking.stores.base import TrackingStore
from modelpack.tracking.uri_forms import parse_models_uri, parse_runs_uri


def resolve_models_uri(
    uri: str, store: TrackingStore | None = None, *, verify: bool = True
) -> tuple[str, int, Path]:
    """(name, version, directory) of a ``models:/`` URI, from one lookup of the version, so
    the directory is always that version's even if an alias or stage moves meanwhile.
    The directory's files are verified against the digest the registry recorded, unless
    ``verify`` is false (then the caller runs :func:`~modelpack.tracking.snapshots.verify.
    verify_version_dir` before loading).

    >>> resolve_models_uri("models:/iris@champion")  # doctest: +SKIP
    ('iris', 3, PosixPath('/work/modelpack-store/artifacts/models/blobs/3f2a...'))
    """
    return (store or current_tracking_store()).resolve_models_uri(uri, verify)


def resolve_store_uri(uri: str, store: TrackingStore | None = None) -> Path:
    """The local directory a ``runs:/`` or ``models:/`` URI names in the current store.

    >>> resolve_store_uri("models:/iris/1")  # doctest: +SKIP
    PosixPath('/work/modelpack-store/artifacts/models/blobs/3f2a...')
    """
    return (store or current_tracking_store()).resolve_store_uri(uri)


__all__ = ["parse_models_uri", "parse_runs_uri", "resolve_models_uri", "resolve_store_uri"]
