"""MODELPACK_ARTIFACT_ROOT: what is accepted, and what is refused at once (no I/O needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelpack
from modelpack.errors import InvalidURI
from modelpack.tracking.artifact_stores import S3Root, parse_artifact_root
from modelpack.tracking.stores.sql.location import locate_store


@pytest.mark.parametrize(
    "root",
    [
        "s3:bucket/x",  # no slashes: used to become a local folder named 's3:bucket'
        "s3:/bucket/x",
        "ftp:host/x",
        "gs://bucket/x",
        "hdfs://namenode/x",
        "s3://",  # no bucket
        "s3:///x",
        "s3://B/x",  # not a valid bucket name
        "s3://bucket/../x",
    ],
)
def test_an_unsupported_or_malformed_root_is_refused_before_anything_is_written(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", root)
    with pytest.raises(InvalidURI) as caught:
        modelpack.set_tracking_uri(tmp_path / "store")
    assert "s3://bucket/prefix" in caught.value.message  # says what would be accepted
    assert list(tmp_path.iterdir()) == []  # no folder named 's3:' or 'ftp:host'


def test_credentials_pasted_into_the_uri_are_never_echoed() -> None:
    with pytest.raises(InvalidURI) as caught:
        parse_artifact_root("s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/x")
    assert "wJalrXUtnFEMI" not in str(caught.value)
    assert "AKIAEXAMPLE" not in str(caught.value)


def test_an_s3_root_is_a_bucket_and_a_clean_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_artifact_root("s3://team-models/registry/") == S3Root("team-models", "registry")
    assert parse_artifact_root("s3://team-models") == S3Root("team-models", "")
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", "s3://team-models/a//b")
    location = locate_store("postgresql://alice:pw@127.0.0.1:5432/registry")
    assert location.artifact_root == S3Root("team-models", "a/b")


def test_local_roots_still_work(tmp_path: Path) -> None:
    assert parse_artifact_root(str(tmp_path / "a")) == tmp_path / "a"
    assert parse_artifact_root((tmp_path / "b").as_uri()) == tmp_path / "b"
    assert parse_artifact_root("./x:y") == Path("x:y").resolve()  # a colon, said plainly


def test_an_endpoint_with_user_info_is_shown_without_it() -> None:
    from modelpack.tracking.artifact_stores.s3 import S3ArtifactStore, display_endpoint

    endpoint = "https://minio:s3cr3tpass@minio.internal:9000/?token=abc"
    assert display_endpoint(endpoint) == "https://minio.internal:9000/"
    store = S3ArtifactStore(S3Root("team-models", "x"), endpoint)
    assert "s3cr3tpass" not in repr(store) and "token" not in repr(store)


def test_a_client_sees_a_new_working_directory_and_artifact_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stores are cached per URI; the same relative URI after ``chdir``, or with another
    MODELPACK_ARTIFACT_ROOT, must still mean the new place."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    monkeypatch.chdir(first)
    assert modelpack.Client("sqlite:///store.db").store.location.db_path == first / "store.db"
    monkeypatch.chdir(second)
    assert modelpack.Client("sqlite:///store.db").store.location.db_path == second / "store.db"
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", str(tmp_path / "elsewhere"))
    assert modelpack.Client("sqlite:///store.db").store.artifact_root == tmp_path / "elsewhere"
