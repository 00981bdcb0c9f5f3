"""Artifact stores: where run artifacts and registered model snapshots are kept.

One small streaming interface (:class:`ArtifactStore`, in ``base``) with two backends:
a local directory (``local``) and an S3 bucket (``s3``, boto3 imported on first use).
``root`` parses ``MODELPACK_ARTIFACT_ROOT``; ``select`` opens the backend for a root.
Imports only ``modelpack.errors`` and ``modelpack.local_paths``: never the metadata
stores, which import ``root`` from here. (Verified local copies of remote snapshots:
``modelpack.tracking.snapshots.cache``.)
"""

from modelpack.tracking.artifact_stores.base import ArtifactEntry, ArtifactStore
from modelpack.tracking.artifact_stores.root import (
    ArtifactRoot,
    S3Root,
    parse_artifact_root,
    root_uri,
)

__all__ = [
    "ArtifactEntry",
    "ArtifactRoot",
    "ArtifactStore",
    "S3Root",
    "parse_artifact_root",
    "root_uri",
]
