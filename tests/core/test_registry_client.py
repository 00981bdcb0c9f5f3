"""Registry through ``Client``: models, versions, stages, aliases, tags, snapshots."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import modelpack
from modelpack.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidName,
    ModelNotFound,
    NotFound,
    UnsafePathError,
)
from modelpack.tracking import Client
from modelpack.uris import resolve_model_uri

MakeModelDir = Callable[..., Path]


@pytest.fixture
def tracking_uri(any_tracking_uri: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_tracking_uri


@pytest.fixture
def client(tracking_uri: str) -> Client:
    return Client(tracking_uri)


def test_versions_count_up_and_are_never_reused(
    client: Client, make_model_dir: MakeModelDir
) -> None:
    source = make_model_dir()
    assert [modelpack.register_model(str(source), "m").version for _ in range(3)] == [1, 2, 3]
    client.delete_model_version("m", 3)
    client.delete_model_version("m", 2)
    assert modelpack.register_model(str(source), "m").version == 4
    assert [v.version for v in client.search_model_versions("name = 'm'")] == [1, 4]
    with pytest.raises(ModelNotFound, match="no version 2"):
        client.get_model_version("m", 2)


def test_version_fields_and_lineage(client: Client, make_model_dir: MakeModelDir) -> None:
    source = make_model_dir()
    client.create_registered_model("m", tags={"owner": "me"}, description="first")
    version = client.create_model_version("m", str(source), tags={"k": "v"}, description="d")
    assert isinstance(version.version, int)
    assert (version.name, version.version, version.current_stage) == ("m", 1, "None")
    assert (version.source, version.description, version.tags) == (str(source), "d", {"k": "v"})
    assert version.creation_timestamp > 0
    model = client.get_registered_model("m")
    assert (model.description, model.tags) == ("first", {"owner": "me"})
    assert [v.version for v in model.latest_versions] == [1]
    with pytest.raises(AlreadyExists):
        client.create_registered_model("m")
    with pytest.raises(ModelNotFound, match="'nope' does not exist"):
        client.create_model_version("nope", str(source))


def test_registering_snapshots_the_directory(client: Client, make_model_dir: MakeModelDir) -> None:
    source = make_model_dir(payload=b"v1")
    first = modelpack.register_model(str(source), "m")
    (source / "model.bin").write_bytes(b"v2")
    second = modelpack.register_model(str(source), "m")
    shutil_rmtree(source)
    assert (Path(first.storage_location) / "model.bin").read_bytes() == b"v1"
    assert (Path(second.storage_location) / "model.bin").read_bytes() == b"v2"
    assert Path(first.storage_location).is_relative_to(client.store.artifact_root)
    same = modelpack.register_model(first.storage_location, "other")  # same content: same blob
    assert same.storage_location == first.storage_location
    client.delete_registered_model("other")
    assert Path(first.storage_location).is_dir()  # still used by m/1
    client.delete_model_version("m", 1)
    assert not Path(first.storage_location).exists()


def shutil_rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path)


def test_register_refuses_links_leaving_the_model(
    client: Client, make_model_dir: MakeModelDir, tmp_path: Path
) -> None:
    source = make_model_dir()
    (tmp_path / "secret").write_text("s")
    (source / "link").symlink_to(tmp_path / "secret")
    with pytest.raises(UnsafePathError):
        modelpack.register_model(str(source), "m")
    assert client.search_model_versions() == []


def test_register_missing_or_broken_model(client: Client, tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound):
        modelpack.register_model(str(tmp_path / "missing"), "m")
    (tmp_path / "empty").mkdir()
    with pytest.raises(modelpack.errors.ModelFormatError):
        modelpack.register_model(str(tmp_path / "empty"), "m")
    staging = client.store.staging_dir  # refused before anything was staged
    assert not staging.exists() or list(staging.iterdir()) == []


def test_stage_transitions_and_archiving(client: Client, make_model_dir: MakeModelDir) -> None:
    source = make_model_dir()
    for _ in range(3):
        modelpack.register_model(str(source), "m")
    assert client.transition_model_version_stage("m", 1, "production").current_stage == "Production"
    client.transition_model_version_stage("m", "2", "PRODUCTION")
    assert client.get_model_version("m", 1).current_stage == "Production"  # not archived
    client.transition_model_version_stage("m", 3, "Production", archive_existing_versions=True)
    stages = {v.version: v.current_stage for v in client.search_model_versions("name = 'm'")}
    assert stages == {1: "Archived", 2: "Archived", 3: "Production"}
    latest = client.get_latest_versions("m")
    assert [(v.version, v.current_stage) for v in latest] == [(2, "Archived"), (3, "Production")]
    assert [v.version for v in client.get_latest_versions("m", ["production"])] == [3]
    with pytest.raises(InvalidInput, match="stage must be one of"):
        client.transition_model_version_stage("m", 1, "Prod")
    with pytest.raises(InvalidInput, match="archive_existing_versions"):
        client.transition_model_version_stage("m", 1, "Archived", archive_existing_versions=True)
    with pytest.raises(ModelNotFound):
        client.transition_model_version_stage("m", 9, "Staging")


def test_aliases(client: Client, make_model_dir: MakeModelDir) -> None:
    source = make_model_dir()
    modelpack.register_model(str(source), "m")
    modelpack.register_model(str(source), "m")
    client.set_registered_model_alias("m", "champion", 1)
    client.set_registered_model_alias("m", "champion", 2)  # moves
    assert client.get_model_version_by_alias("m", "champion").version == 2
    assert client.get_registered_model("m").aliases == {"champion": 2}
    assert client.get_model_version("m", 2).aliases == ("champion",)
    for reserved in ("latest", "LATEST", "v1", "V12"):
        with pytest.raises(InvalidName, match="reserved"):
            client.set_registered_model_alias("m", reserved, 1)
    for bad in ("", "a b", "a/b", "x" * 256):
        with pytest.raises(InvalidName):
            client.set_registered_model_alias("m", bad, 1)
    with pytest.raises(ModelNotFound):
        client.set_registered_model_alias("m", "ghost", 7)
    client.delete_registered_model_alias("m", "champion")
    with pytest.raises(ModelNotFound, match="no alias 'champion'"):
        client.get_model_version_by_alias("m", "champion")
    client.set_registered_model_alias("m", "gone", 1)
    client.delete_model_version("m", 1)
    assert client.get_registered_model("m").aliases == {}


def test_rename_update_tags_and_delete(client: Client, make_model_dir: MakeModelDir) -> None:
    source = make_model_dir()
    modelpack.register_model(str(source), "old", tags={"a": "1"})
    client.set_registered_model_alias("old", "champion", 1)
    client.set_registered_model_tag("old", "team", "ml")
    client.set_model_version_tag("old", 1, "validated", True)
    renamed = client.rename_registered_model("old", "new")
    assert renamed.aliases == {"champion": 1} and renamed.tags == {"team": "ml"}
    assert client.get_model_version("new", 1).tags == {"a": "1", "validated": "True"}
    with pytest.raises(ModelNotFound):
        client.get_registered_model("old")
    modelpack.register_model(str(source), "taken")
    with pytest.raises(AlreadyExists):
        client.rename_registered_model("new", "taken")
    assert client.update_registered_model("new", "desc").description == "desc"
    assert client.update_model_version("new", 1, "vdesc").description == "vdesc"
    client.delete_registered_model_tag("new", "team")
    client.delete_model_version_tag("new", 1, "a")
    with pytest.raises(NotFound):
        client.delete_model_version_tag("new", 1, "a")
    assert client.get_model_version("new", 1).tags == {"validated": "True"}
    assert modelpack.register_model(str(source), "new").version == 2  # counter followed the rename
    client.delete_registered_model("new")
    assert [m.name for m in client.search_registered_models()] == ["taken"]
    assert modelpack.register_model(str(source), "new").version == 1  # a new model starts over


def test_search_registered_models(client: Client, make_model_dir: MakeModelDir) -> None:
    for name in ("iris-a", "iris-b", "wine"):
        client.create_registered_model(name)
    assert [m.name for m in client.search_registered_models("name LIKE 'iris%'")] == [
        "iris-a", "iris-b",
    ]  # fmt: skip
    assert [m.name for m in client.search_registered_models("name = 'wine'")] == ["wine"]
    with pytest.raises(InvalidInput):
        client.search_registered_models("owner = 'x'")


@pytest.mark.parametrize(
    "name",
    [
        "",
        " ",
        "a/b",
        "a:b",
        "..",
        "a..b",
        "nul\x00",
        "x" * 256,
        "tab\there",
        7,
        "ir\x7fis",
        "c1\x85",
    ],
)
def test_invalid_model_names(client: Client, make_model_dir: MakeModelDir, name: object) -> None:
    with pytest.raises(InvalidName):
        client.create_registered_model(name)  # type: ignore[arg-type]
    with pytest.raises(InvalidName):
        modelpack.register_model(str(make_model_dir()), name)  # type: ignore[arg-type]
    assert client.search_registered_models() == []


@pytest.mark.parametrize("version", [0, -1, "abc", 1.5, None, True, 2**63, "1" * 30, "\u0661"])
def test_invalid_versions(client: Client, version: object) -> None:
    client.create_registered_model("m")
    with pytest.raises(InvalidInput):
        client.get_model_version("m", version)  # type: ignore[arg-type]


def test_search_versions_by_run(
    tracking_uri: str, client: Client, save_fake_model: Callable[[Path], None]
) -> None:
    with modelpack.start_run() as run:
        modelpack.tracking.log_model_dir(save_fake_model, "model", registered_model_name="m")
    found = client.search_model_versions(f"run_id = '{run.info.run_id}'")
    assert [(v.name, v.version, v.run_id) for v in found] == [("m", 1, run.info.run_id)]
    assert found[0].source == f"runs:/{run.info.run_id}/model"
    assert resolve_model_uri("models:/m/1") == Path(found[0].storage_location)
