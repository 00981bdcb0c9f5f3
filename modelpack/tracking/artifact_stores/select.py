"""The artifact store for a root, one per root and process (boto3 clients are per process)."""

from __future__ import annotations

import os
import threading

from modelpack.tracking.artifact_stores.base import ArtifactStore
from modelpack.tracking.artifact_stores.local import LocalArtifactStore
from modelpack.tracking.artifact_stores.root import ArtifactRoot, S3Root

_OPEN: dict[tuple[ArtifactRoot, str | None, int], ArtifactStore] = {}
_LOCK = threading.Lock()


def open_artifact_store(root: ArtifactRoot) -> ArtifactStore:
    """The :class:`ArtifactStore` for ``root`` (cached; S3 endpoint read from the environment).

    >>> open_artifact_store(Path("/tmp/artifacts")).uri  # doctest: +SKIP
    'file:///tmp/artifacts'
    """
    if not isinstance(root, S3Root):
        local = _OPEN.get((root, None, 0))
        if local is None:  # stateless: one per root is enough (and saves a path per call)
            local = _OPEN[(root, None, 0)] = LocalArtifactStore(root)
        return local
    from modelpack.tracking.artifact_stores.s3 import S3ArtifactStore, endpoint_from_env

    endpoint = endpoint_from_env()
    key = (root, endpoint, os.getpid())
    with _LOCK:
        store = _OPEN.get(key)
        if store is None:
            store = _OPEN[key] = S3ArtifactStore(root, endpoint)
        return store


__all__ = ["open_artifact_store"]
