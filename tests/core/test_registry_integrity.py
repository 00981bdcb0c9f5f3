"""Registering checks that the source is a model before it walks or copies anything,
and copies only regular files and directories."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import modelpack
from modelpack.errors import (
    IntegrityError,
    ModelFormatError,
    UnsafePathError,
    UnsupportedFileError,
)
from modelpack.mlmodel import read_mlmodel
from modelpack.model_dir import finalize
from modelpack.tracking import Client

MakeModelDir = Callable[..., Path]


@pytest.fixture
def client(tracking_uri: str) -> Client:
    return Client(tracking_uri)


def _nothing_stored(client: Client) -> bool:
    staging = client.store.staging_dir
    staged = list(staging.iterdir()) if staging.exists() else []
    blobs = client.store.artifact_root / "models" / "blobs"
    return (
        staged == []
        and (not blobs.exists() or list(blobs.iterdir()) == [])
        and client.search_model_versions() == []
    )


def test_a_tree_that_is_not_a_model_is_refused_before_it_is_walked(
    client: Client, tmp_path: Path
) -> None:
    tree = tmp_path / "not-a-model"
    for i in range(40):
        (tree / f"d{i:02}").mkdir(parents=True)
        for j in range(50):
            (tree / f"d{i:02}" / f"f{j}.txt").write_text("x")
    # A walk would trip on these: a link out of the tree, a FIFO (which would hang a copy).
    (tree / "d00" / "out").symlink_to(tmp_path)
    os.mkfifo(tree / "d39" / "pipe")
    started = time.perf_counter()
    with pytest.raises(ModelFormatError, match="no MLmodel file") as err:
        modelpack.register_model(str(tree), "x")
    assert time.perf_counter() - started < 2.0
    assert not isinstance(err.value, (UnsafePathError, UnsupportedFileError))
    assert _nothing_stored(client)


@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_special_files_are_refused_by_name_before_a_copy(
    kind: str, client: Client, make_model_dir: MakeModelDir
) -> None:
    source = make_model_dir()
    (source / "data").mkdir()
    special = source / "data" / "special"
    server = socket.socket(socket.AF_UNIX)
    try:
        if kind == "fifo":
            os.mkfifo(special)
        else:
            server.bind(str(special))
        with pytest.raises(UnsupportedFileError, match="'data/special' in the model directory"):
            modelpack.register_model(str(source), "m")
    finally:
        server.close()
    assert _nothing_stored(client)


def test_a_declared_payload_that_is_a_fifo_is_refused(
    client: Client, make_model_dir: MakeModelDir
) -> None:
    source = make_model_dir()
    mlmodel = read_mlmodel(source)
    mlmodel["flavors"]["python_function"] = {"loader_module": "x", "data": "weights"}
    (source / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    with pytest.raises(ModelFormatError, match="'weights' named by MLmodel .* missing"):
        modelpack.register_model(str(source), "m")
    os.mkfifo(source / "weights")
    with pytest.raises(UnsupportedFileError, match="'weights' named by MLmodel .* named pipe"):
        modelpack.register_model(str(source), "m")
    assert _nothing_stored(client)


def test_a_hashed_model_with_an_added_file_is_not_registered(
    client: Client, make_model_dir: MakeModelDir
) -> None:
    source = make_model_dir()
    finalize(source, read_mlmodel(source))
    (source / "added.py").write_text("print('hi')")
    with pytest.raises(IntegrityError, match="'added.py'"):
        modelpack.register_model(str(source), "m")
    assert _nothing_stored(client)
    (source / "added.py").unlink()
    assert modelpack.register_model(str(source), "m").version == 1


def test_only_regular_files_and_directories_are_stored(
    client: Client, make_model_dir: MakeModelDir
) -> None:
    source = make_model_dir()  # no hash table, as MLflow writes
    (source / "empty").mkdir()
    (source / "alias.bin").symlink_to("model.bin")  # a link that stays inside: its bytes
    version = modelpack.register_model(str(source), "m")
    stored = Path(version.storage_location)
    assert (stored / "empty").is_dir()
    assert not (stored / "alias.bin").is_symlink()
    assert (stored / "alias.bin").read_bytes() == (source / "model.bin").read_bytes()
    (source / "dir-link").symlink_to("empty")
    with pytest.raises(UnsupportedFileError, match="'dir-link' .* link to a directory"):
        modelpack.register_model(str(source), "m")
