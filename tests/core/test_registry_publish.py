"""Registering a version: the one-statement path (PostgreSQL, no tags) and the
transaction (SQLite, or tags) record the same thing, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

import modelpack
from modelpack.errors import ModelNotFound
from modelpack.tracking import Client
from tests.core.conftest import MakeModelDir


@pytest.fixture
def tracking_uri(any_tracking_uri: str) -> str:
    return any_tracking_uri


def _blobs(client: Client) -> set[str]:
    root = client.store.artifact_root / "models" / "blobs"
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


def test_versions_count_up_with_and_without_tags(
    tracking_uri: str, make_model_dir: MakeModelDir
) -> None:
    client = Client()
    first = modelpack.register_model(str(make_model_dir()), "m")
    second = modelpack.register_model(str(make_model_dir()), "m", tags={"k": "v"})
    third = client.create_model_version("m", str(make_model_dir()), description="d")
    assert [first.version, second.version, third.version] == [1, 2, 3]
    stored = client.search_model_versions("name = 'm'")
    assert [(v.version, v.tags, v.description) for v in stored] == [
        (1, {}, ""),
        (2, {"k": "v"}, ""),
        (3, {}, "d"),
    ]
    assert all((Path(v.storage_location) / "MLmodel").is_file() for v in stored)
    model = client.get_registered_model("m")
    assert model.last_updated_timestamp == third.creation_timestamp
    assert model.last_updated_timestamp >= model.creation_timestamp


def test_a_version_of_a_missing_model_leaves_no_row_and_no_blob(
    tracking_uri: str, make_model_dir: MakeModelDir
) -> None:
    client = Client()
    client.create_registered_model("present")
    kept = make_model_dir(payload=b"kept")
    client.create_model_version("present", str(kept))
    before = _blobs(client)
    with pytest.raises(ModelNotFound, match="'absent' does not exist"):
        client.create_model_version("absent", str(make_model_dir(payload=b"orphan")))
    assert _blobs(client) == before
    assert client.search_model_versions("name = 'absent'") == []
    # a blob shared with an existing version survives the clean-up of the failed one
    with pytest.raises(ModelNotFound):
        client.create_model_version("absent", str(kept))
    assert _blobs(client) == before
    assert client.create_model_version("present", str(kept)).version == 2
    assert (Path(client.get_model_version("present", 1).storage_location) / "model.bin").is_file()
