"""Artifacts as objects in an S3 bucket (AWS, or any S3-compatible server).

boto3's managed transfers stream every file: multipart uploads and ranged downloads,
never a whole file in memory. Each object PUT is atomic, so a reader sees an old or a
new file, never part of one; a tree is complete when all its files are listed (the
registry checks exactly that for its content-addressed snapshots).

Configuration: the endpoint from ``MODELPACK_S3_ENDPOINT_URL``, else the AWS variables
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` (unset: AWS itself); credentials and
region from the standard AWS chain (``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``, instance
roles, ...). Errors name the bucket and the endpoint, never a credential.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import urlsplit

from modelpack.errors import AlreadyExists, DependencyMissing, NotFound, StoreError
from modelpack.tracking.artifact_stores.base import ArtifactEntry
from modelpack.tracking.artifact_stores.local import check_key
from modelpack.tracking.artifact_stores.root import S3Root, staging_dir_for

ENDPOINT_ENVS = ("MODELPACK_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
_DENIED = frozenset(
    {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AllAccessDisabled"}
)
_MISSING_KEY = frozenset({"NoSuchKey", "404", "NotFound"})
_DELETE_BATCH = 1000


def endpoint_from_env() -> str | None:
    """The S3 endpoint URL configured in the environment, or ``None`` for AWS."""
    for name in ENDPOINT_ENVS:
        value = os.environ.get(name)
        if value:
            return value
    return None


def display_endpoint(endpoint: str | None) -> str:
    """``endpoint`` without user info, query or fragment (``AWS S3`` when unset)."""
    if not endpoint:
        return "AWS S3"
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _code(exc: BaseException) -> str | None:
    """The S3 error code of ``exc`` or of the client error it wraps."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code", "")) or None
        seen = seen.__cause__ or seen.__context__
    return None


class S3ArtifactStore:
    """An :class:`~modelpack.tracking.artifact_stores.base.ArtifactStore` on ``s3://bucket/prefix``.

    >>> store = S3ArtifactStore(S3Root("team-models", "registry"))  # doctest: +SKIP
    >>> store.list("models/blobs/3f2a")  # doctest: +SKIP
    """

    def __init__(self, root: S3Root, endpoint_url: str | None = None) -> None:
        self.root = root
        self.endpoint_url = endpoint_url if endpoint_url is not None else endpoint_from_env()
        self._where = f"S3 bucket '{root.bucket}' at {display_endpoint(self.endpoint_url)}"
        self._client: Any = None
        self._transfer: Any = None

    def __repr__(self) -> str:
        return (
            f"S3ArtifactStore({self.root.uri!r}, endpoint={display_endpoint(self.endpoint_url)!r})"
        )

    @property
    def uri(self) -> str:
        return self.root.uri

    @property
    def local_root(self) -> None:
        return None

    @property
    def staging_dir(self) -> Path:
        return staging_dir_for(self.root)

    def key(self, key: str) -> str:
        """The full object key of the store-relative ``key``."""
        check_key(key)
        return f"{self.root.prefix}/{key}" if self.root.prefix and key else self.root.prefix + key

    def uri_of(self, key: str) -> str:
        return f"s3://{self.root.bucket}/{self.key(key)}"

    def client(self) -> Any:
        """The boto3 S3 client (created on first use; boto3 clients are thread-safe)."""
        if self._client is None:
            try:
                import boto3
                from boto3.s3.transfer import TransferConfig
                from botocore.config import Config
            except ImportError:
                raise DependencyMissing(
                    "an s3:// artifact root needs boto3: pip install 'modelpack[s3]'"
                ) from None
            config = Config(
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
                # S3-compatible servers (MinIO, moto, Ceph) want the bucket in the path.
                s3={"addressing_style": "path"} if self.endpoint_url else {},
            )
            self._transfer = TransferConfig(multipart_threshold=16 << 20, max_concurrency=4)
            with self._errors("connect"):
                self._client = boto3.session.Session().client(
                    "s3", endpoint_url=self.endpoint_url, config=config
                )
        return self._client

    @contextmanager
    def _errors(self, action: str, key: str = "") -> Iterator[None]:
        try:
            yield
        except (StoreError, NotFound, AlreadyExists, DependencyMissing):
            raise
        except Exception as exc:
            raise StoreError(self._explain(exc, action, key)) from None

    def _explain(self, exc: BaseException, action: str, key: str) -> str:
        from botocore import exceptions as bex

        what = f"{action} '{key}' in {self._where}" if key else f"{action} in {self._where}"
        code = _code(exc)
        if code == "NoSuchBucket":
            return (
                f"{what} failed: the bucket does not exist; create it "
                f"(aws s3 mb s3://{self.root.bucket}) or fix MODELPACK_ARTIFACT_ROOT"
            )
        if code in _DENIED:
            return (
                f"{what} failed: access denied ({code}); check the AWS credentials "
                "(AWS_ACCESS_KEY_ID / AWS_PROFILE) and the bucket policy"
            )
        if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
            return (
                f"{what} failed: no AWS credentials found; set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
            )
        if isinstance(exc, bex.ConnectionError | bex.HTTPClientError) or _caused_by_connection(exc):
            return (
                f"{what} failed: the endpoint cannot be reached; check that the server is "
                f"running and {ENDPOINT_ENVS[0]}"
            )
        if code:
            return f"{what} failed ({code})"
        return f"{what} failed ({type(exc).__name__})"

    # -- writing -------------------------------------------------------------------

    def put_file(self, source: Path, key: str) -> None:
        full = self.key(key)
        with self._errors("upload of", key):
            self.client().upload_file(str(source), self.root.bucket, full, Config=self._transfer)

    def put_bytes(self, data: bytes, key: str) -> None:
        full = self.key(key)
        with self._errors("upload of", key):
            self.client().put_object(Bucket=self.root.bucket, Key=full, Body=data)

    def put_tree(self, source: Path, prefix: str, *, exist_ok: bool = False) -> None:
        if not exist_ok and self._any(prefix):
            raise AlreadyExists(
                f"artifact '{prefix.rsplit('/', 1)[-1]}' already exists in this run; "
                "log under another name"
            )
        files = sorted(
            (path for path in source.rglob("*") if path.is_file() and not path.is_symlink()),
            # MLmodel last: a reader who finds it finds every file it names.
            key=lambda path: (path.relative_to(source).as_posix() == "MLmodel", path),
        )
        for path in files:
            relative = path.relative_to(source).as_posix()
            self.put_file(path, f"{prefix}/{relative}" if prefix else relative)

    # -- reading -------------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        full = self.key(key)
        with self._errors("download of", key):
            try:
                body = self.client().get_object(Bucket=self.root.bucket, Key=full)["Body"]
            except ClientError as exc:
                if _code(exc) in _MISSING_KEY:
                    raise NotFound(f"no artifact '{key}' in {self.uri}") from None
                raise
        return cast(BinaryIO, body)

    def exists(self, key: str) -> bool:
        full = self.key(key)
        from botocore.exceptions import ClientError

        with self._errors("lookup of", key):
            try:
                self.client().head_object(Bucket=self.root.bucket, Key=full)
            except ClientError as exc:
                if _code(exc) in _MISSING_KEY:
                    return False
                raise
        return True

    def _objects(self, prefix: str, limit: int | None = None) -> Iterator[dict[str, Any]]:
        full = self.key(prefix)
        start = f"{full}/" if full else ""
        with self._errors("listing of", prefix):
            paginator = self.client().get_paginator("list_objects_v2")
            pages = paginator.paginate(
                Bucket=self.root.bucket,
                Prefix=start,
                PaginationConfig={"MaxItems": limit} if limit else {},
            )
            for page in pages:
                for item in page.get("Contents", ()):
                    yield {"Key": item["Key"][len(start) :], "Size": int(item["Size"])}

    def _any(self, prefix: str) -> bool:
        return next(iter(self._objects(prefix, limit=1)), None) is not None

    def list(self, prefix: str) -> list[ArtifactEntry]:
        found = [ArtifactEntry(item["Key"], item["Size"]) for item in self._objects(prefix)]
        return sorted(found, key=lambda entry: entry.path)

    def get_tree(self, prefix: str, dest: Path) -> None:
        dest.mkdir(parents=True)
        for entry in self.list(prefix):
            check_key(entry.path)  # a key written by someone else must not lead outside dest
            target = dest / entry.path
            target.parent.mkdir(parents=True, exist_ok=True)
            relative = f"{prefix}/{entry.path}" if prefix else entry.path
            with self._errors("download of", relative):
                self.client().download_file(
                    self.root.bucket, self.key(relative), str(target), Config=self._transfer
                )

    def delete(self, prefix: str) -> None:
        if not prefix:
            raise StoreError("refusing to delete the whole artifact root")
        keys = [f"{prefix}/{item['Key']}" for item in self._objects(prefix)]
        if self.exists(prefix):
            keys.append(prefix)
        with self._errors("deletion of", prefix):
            for start in range(0, len(keys), _DELETE_BATCH):
                batch = keys[start : start + _DELETE_BATCH]
                self.client().delete_objects(
                    Bucket=self.root.bucket,
                    Delete={"Objects": [{"Key": self.key(k)} for k in batch], "Quiet": True},
                )


def _caused_by_connection(exc: BaseException) -> bool:
    from botocore.exceptions import ConnectionError as BotoConnectionError

    seen: BaseException | None = exc.__cause__ or exc.__context__
    while seen is not None:
        if isinstance(seen, BotoConnectionError | ConnectionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


__all__ = ["ENDPOINT_ENVS", "S3ArtifactStore", "display_endpoint", "endpoint_from_env"]
