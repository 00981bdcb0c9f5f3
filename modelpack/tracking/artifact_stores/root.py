"""Where a store's artifacts live, parsed from ``MODELPACK_ARTIFACT_ROOT`` (no I/O, no boto3).

Accepted: a local directory, ``file://…`` or ``s3://bucket/prefix``. Anything else that
starts like a URI scheme (``gs://``, ``ftp:``, ``s3:bucket``) is refused at once, so a
typo never becomes a local folder named ``s3:``.

>>> parse_artifact_root("s3://team-models/registry")
S3Root(bucket='team-models', prefix='registry')
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from modelpack.errors import InvalidURI
from modelpack.local_paths import local_path

# Two letters at least, so a Windows drive ("C:") is never taken for a scheme.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
# S3's rules for bucket names (3-63 lowercase letters, digits, dots, hyphens).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ACCEPTED = "a local directory, file:///path or s3://bucket/prefix"
CACHE_DIR_ENV = "MODELPACK_CACHE_DIR"


@dataclass(frozen=True)
class S3Root:
    """An S3 bucket and a key prefix (no leading or trailing ``/``; may be empty)."""

    bucket: str
    prefix: str = ""

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


ArtifactRoot = Path | S3Root


def _s3_root(text: str) -> S3Root:
    # The text is never echoed: a mistyped URI can hold a key pasted by accident.
    bucket, _, prefix = text[len("s3://") :].partition("/")
    if not _BUCKET.match(bucket):
        raise InvalidURI(
            "S3 artifact root must look like s3://bucket/prefix with a bucket name of 3-63 "
            "lowercase letters, digits, dots or hyphens (credentials come from the AWS "
            "variables, never from the URI)"
        )
    parts = [part for part in prefix.split("/") if part]
    if any(part in (".", "..") for part in parts) or "\\" in prefix:
        raise InvalidURI(
            f"S3 artifact root prefix in bucket '{bucket}' must not contain '.', '..' or "
            "backslashes; use s3://bucket/prefix with plain names separated by '/'"
        )
    return S3Root(bucket, "/".join(parts))


def parse_artifact_root(text: str) -> ArtifactRoot:
    """The artifact root ``text`` names: an absolute local :class:`Path` or an :class:`S3Root`."""
    if "\x00" in text:
        raise InvalidURI("artifact root must not contain NUL characters")
    if text.startswith("s3://"):
        return _s3_root(text)
    match = _SCHEME.match(text)
    if match and match.group(1).lower() != "file":
        scheme = match.group(1)
        hint = " (two slashes and a bucket: s3://bucket/prefix)" if scheme == "s3" else ""
        raise InvalidURI(
            f"unsupported artifact root scheme '{scheme}'{hint}; use {ACCEPTED}, or "
            "'./name' for a local folder whose name has a colon"
        )
    return local_path(text, what="artifact root", accepted=ACCEPTED).expanduser().resolve()


def root_uri(root: ArtifactRoot) -> str:
    """``root`` as a URI: ``file:///…`` or ``s3://…``."""
    return root.uri if isinstance(root, S3Root) else root.as_uri()


def cache_dir() -> Path:
    """This machine's download cache: ``$MODELPACK_CACHE_DIR`` or ``~/.cache/modelpack``."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.home() / ".cache" / "modelpack"


def staging_dir_for(root: ArtifactRoot) -> Path:
    """Local scratch space for ``root``: beside a local root (one file system, so publishing
    is a rename), in the download cache for a remote one."""
    if isinstance(root, S3Root):
        return cache_dir() / "staging"
    return root / ".staging"


__all__ = [
    "ACCEPTED",
    "CACHE_DIR_ENV",
    "ArtifactRoot",
    "S3Root",
    "cache_dir",
    "parse_artifact_root",
    "root_uri",
    "staging_dir_for",
]
