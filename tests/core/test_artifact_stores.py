"""The artifact store interface and the tracking/registry flows over it, on a local
directory and on a real S3 endpoint (moto_server on loopback), held to one behaviour."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import modelpack
import modelpack.sklearn as sklearn_flavor
from modelpack.errors import AlreadyExists, IntegrityError, NotFound, StoreError
from modelpack.tracking import Client
from modelpack.tracking.artifact_stores import ArtifactStore, S3Root
from modelpack.tracking.artifact_stores.local import LocalArtifactStore
from modelpack.tracking.artifact_stores.s3 import S3ArtifactStore
from modelpack.tracking.snapshots.digest import blob_key
from modelpack.tracking.stores.sql.artifacts import artifact_store
from tests.core.conftest import MakeModelDir
from tests.s3_server import MotoServer


@pytest.fixture
def artifacts(artifact_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStore:
    if artifact_kind == "local":
        return LocalArtifactStore(tmp_path / "root")
    request.getfixturevalue("s3_env")
    server: MotoServer = request.getfixturevalue("s3_server")
    return S3ArtifactStore(S3Root(server.create_bucket(), "team/prefix"))


# -- the interface -------------------------------------------------------------------


def test_files_round_trip_and_list_by_prefix(artifacts: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "big.bin"
    data = os.urandom(1 << 20) * 17  # past the 16 MB multipart threshold on S3
    source.write_bytes(data)
    artifacts.put_file(source, "run/a/big.bin")
    artifacts.put_bytes(b"first", "run/a/note.txt")
    artifacts.put_bytes(b"second", "run/a/note.txt")  # replaced, not appended
    artifacts.put_bytes(b"x", "runner/other.txt")  # a sibling sharing the prefix's letters
    with artifacts.open("run/a/big.bin") as stream:
        assert stream.read(5) == data[:5]  # streamed: read a little, close
    with artifacts.open("run/a/note.txt") as stream:
        assert stream.read() == b"second"
    listed = artifacts.list("run")
    assert [(e.path, e.size) for e in listed] == [("a/big.bin", len(data)), ("a/note.txt", 6)]
    assert artifacts.exists("run/a/note.txt") and not artifacts.exists("run/a")
    assert artifacts.list("nothing/here") == []
    with pytest.raises(NotFound):
        artifacts.open("run/a/missing.txt")
    artifacts.delete("run")
    assert artifacts.list("run") == [] and artifacts.exists("runner/other.txt")
    artifacts.delete("run")  # nothing there: not an error


def test_trees_are_published_once_and_read_back_whole(
    artifacts: ArtifactStore, tmp_path: Path
) -> None:
    def staged(text: str) -> Path:
        path = tmp_path / f"tree-{text}"
        (path / "sub").mkdir(parents=True)
        (path / "MLmodel").write_text(text)
        (path / "sub" / "w.bin").write_bytes(b"w" * 1000)
        return path

    artifacts.put_tree(staged("one"), "exp/run/model")
    with pytest.raises(AlreadyExists, match="already exists in this run"):
        artifacts.put_tree(staged("two"), "exp/run/model")
    artifacts.put_tree(staged("three"), "exp/run/model", exist_ok=True)  # kept or completed
    copy = tmp_path / "copy"
    artifacts.get_tree("exp/run/model", copy)
    assert sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file()) == [
        "MLmodel",
        "sub/w.bin",
    ]
    assert (copy / "sub" / "w.bin").read_bytes() == b"w" * 1000


def test_uris_name_the_backend(artifacts: ArtifactStore, artifact_kind: str) -> None:
    uri = artifacts.uri_of("1/run/artifacts")
    if artifact_kind == "s3":
        assert uri.startswith("s3://") and uri.endswith("/team/prefix/1/run/artifacts")
        assert artifacts.local_root is None
    else:
        assert uri.startswith("file:///") and artifacts.local_root is not None


# -- tracking and registry over it ---------------------------------------------------


def test_run_artifacts_log_list_and_download(tracking_uri_on: str, artifact_kind: str) -> None:
    client = Client()
    with modelpack.start_run() as run:
        run_id = run.info.run_id
        client.log_text(run_id, "hello", "notes/a.txt")
        client.log_dict(run_id, {"k": 1}, "cfg.json")
    assert client.list_artifacts(run_id) == ["cfg.json", "notes/a.txt"]
    assert client.list_artifacts(run_id, "notes") == ["notes/a.txt"]
    assert client.download_artifacts(run_id, "notes/a.txt").read_text() == "hello"
    tree = client.download_artifacts(run_id, "notes")
    assert (tree / "a.txt").read_text() == "hello"
    scheme = "s3://" if artifact_kind == "s3" else "file://"
    assert client.get_run(run_id).info.artifact_uri.startswith(scheme)


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, object]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, target = load_iris(return_X_y=True)
    return features, LogisticRegression(max_iter=300).fit(features, target)


def test_log_register_load_by_every_uri_form(
    tracking_uri_on: str, artifact_kind: str, iris: tuple[np.ndarray, object], tmp_path: Path
) -> None:
    features, classifier = iris
    with modelpack.start_run():
        info = sklearn_flavor.log_model(
            classifier, name="model", registered_model_name="iris", input_example=features[:2]
        )
    client = Client()
    client.set_registered_model_alias("iris", "champion", 1)
    again = modelpack.register_model(info.model_uri, "iris")  # same content: same blob
    version = client.get_model_version("iris", 1)
    assert again.storage_location == version.storage_location
    if artifact_kind == "s3":
        assert version.storage_location.startswith("s3://")
        runs_cache = tmp_path / "cache" / "runs"  # downloads for the snapshot are gone again
        assert not runs_cache.exists() or list(runs_cache.iterdir()) == []
    expected = classifier.predict(features[:5])  # type: ignore[attr-defined]
    for uri in (info.model_uri, "models:/iris/1", "models:/iris/2", "models:/iris@champion"):
        loaded = modelpack.load_model(uri)
        assert np.array_equal(np.asarray(loaded.predict(features[:5])), expected)


def test_deleting_the_last_version_removes_its_blob(
    tracking_uri_on: str, make_model_dir: MakeModelDir
) -> None:
    source = str(make_model_dir(payload=b"v1"))
    modelpack.register_model(source, "m")
    modelpack.register_model(source, "other")  # same content: same blob
    client = Client()
    artifacts = artifact_store(client.store)
    digest = client.store.read("SELECT blob FROM model_versions WHERE name = 'm'")[0][0]
    client.delete_model_version("m", 1)
    assert artifacts.list(blob_key(digest)) != []  # still used by other/1
    client.delete_model_version("other", 1)
    assert artifacts.list(blob_key(digest)) == []


# -- the local cache of S3 snapshots -------------------------------------------------


def _cached(cache: Path) -> list[str]:
    return sorted(p.name for p in (cache / "models").iterdir())


def test_a_loaded_version_is_cached_by_digest_verified_and_reused(
    s3_tracking_uri: str, make_model_dir: MakeModelDir, tmp_path: Path
) -> None:
    from modelpack.tracking.resolve import resolve_models_uri

    version = modelpack.register_model(str(make_model_dir(payload=b"cached")), "c")
    client = Client()
    digest = client.store.read("SELECT blob FROM model_versions WHERE name = 'c'")[0][0]
    path = resolve_models_uri("models:/c/1")[2]
    assert path == tmp_path / "cache" / "models" / digest
    assert _cached(tmp_path / "cache") == [digest]  # no temporary directory left
    assert (path / "model.bin").read_bytes() == b"cached"

    artifact_store(client.store).delete(blob_key(digest))  # S3 copy gone: the cache serves
    assert resolve_models_uri("models:/c/1")[2] == path
    assert version.storage_location.endswith(digest)

    (path / "model.bin").write_bytes(b"changed")  # a changed cache is never used
    with pytest.raises(IntegrityError, match="missing from the artifact store"):
        resolve_models_uri("models:/c/1")


def test_a_changed_object_in_the_bucket_is_refused(
    s3_tracking_uri: str, make_model_dir: MakeModelDir, tmp_path: Path
) -> None:
    from modelpack.tracking.resolve import resolve_models_uri

    modelpack.register_model(str(make_model_dir(payload=b"honest")), "t")
    store = Client().store
    digest = store.read("SELECT blob FROM model_versions WHERE name = 't'")[0][0]
    artifact_store(store).put_bytes(b"evil", f"{blob_key(digest)}/model.bin")
    with pytest.raises(IntegrityError, match="do not match the digest"):
        resolve_models_uri("models:/t/1")
    assert not (tmp_path / "cache" / "models" / digest).exists()
    assert [p.name for p in (tmp_path / "cache" / "models").iterdir()] == []


_LOADER = """
import sys
from modelpack.tracking.resolve import resolve_models_uri
print(resolve_models_uri("models:/big/1")[2])
"""


def test_two_processes_filling_the_cache_at_once_both_get_a_whole_copy(
    s3_tracking_uri: str, make_model_dir: MakeModelDir, tmp_path: Path
) -> None:
    modelpack.register_model(str(make_model_dir(size=8 << 20)), "big")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _LOADER],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], outputs[0][1].decode()[-2000:]
    paths = {out.decode().strip() for out, _ in outputs}
    assert len(paths) == 1
    assert len(_cached(tmp_path / "cache")) == 1  # the one digest, no temp dirs left
    assert (Path(paths.pop()) / "model.bin").stat().st_size == len(b"weights") + (8 << 20)


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])
def test_the_aws_endpoint_variables_work_too(
    s3_tracking_uri: str,
    s3_server: MotoServer,
    make_model_dir: MakeModelDir,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    monkeypatch.delenv("MODELPACK_S3_ENDPOINT_URL")
    monkeypatch.setenv(variable, s3_server.url)
    from modelpack.tracking.resolve import resolve_models_uri

    modelpack.register_model(str(make_model_dir(payload=b"via aws vars")), "e")
    assert (resolve_models_uri("models:/e/1")[2] / "model.bin").read_bytes() == b"via aws vars"
    monkeypatch.setenv("MODELPACK_S3_ENDPOINT_URL", "http://127.0.0.1:9")  # ours wins: refused
    with pytest.raises(StoreError, match="127.0.0.1:9"):
        modelpack.register_model(str(make_model_dir(payload=b"other")), "e")


def test_listing_a_tree_while_it_is_deleted_is_not_an_error(tmp_path: Path) -> None:
    # a delete moves the tree away in one rename; a reader walking it meanwhile finds
    # files gone between the directory listing and their stat, and must skip them
    import threading

    store = LocalArtifactStore(tmp_path / "root")
    failures = 0
    for round_ in range(30):
        tree = tmp_path / "root" / "models" / "blobs" / f"b{round_}" / "sub"
        tree.mkdir(parents=True)
        for i in range(300):
            (tree / f"f{i}").write_bytes(b"x")
        deleter = threading.Thread(target=store.delete, args=(f"models/blobs/b{round_}",))
        deleter.start()
        try:
            listed = store.list(f"models/blobs/b{round_}")
        except StoreError:
            failures += 1
        else:
            assert all(entry.size == 1 for entry in listed)
        deleter.join()
        assert store.list(f"models/blobs/b{round_}") == []
    assert failures == 0
