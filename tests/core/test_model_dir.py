"""The model directory: safe paths, atomic staging, integrity verification, MLmodel I/O."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from modelpack.errors import (
    AlreadyExists,
    IntegrityError,
    InvalidInput,
    ModelFormatError,
    ModelNotFound,
    UnsafePathError,
)
from modelpack.mlmodel import HASHES_KEY, read_mlmodel, write_mlmodel
from modelpack.model_dir import finalize, safe_join, staged_model_dir, verify_model_dir


def _write_model(path: Path, payload: bytes = b"weights") -> Path:
    with staged_model_dir(path) as tmp:
        (tmp / "model.bin").write_bytes(payload)
        (tmp / "sub").mkdir()
        (tmp / "sub" / "vocab.txt").write_text("a b c")
        finalize(tmp, {"flavors": {"python_function": {"loader_module": "x"}}})
    return path


@pytest.mark.parametrize(
    "relative",
    ["../x", "a/../../x", "/etc/passwd", "\\\\server\\share", "..\\x", "C:/x", "", "a\x00b", 3],
)
def test_safe_join_refuses_escapes(relative: object, tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="field"):
        safe_join(tmp_path, relative, what="field")


def test_safe_join_allows_inside_and_refuses_symlink_out(tmp_path: Path) -> None:
    (tmp_path / "m" / "d").mkdir(parents=True)
    assert safe_join(tmp_path / "m", "d/f.bin", what="f") == tmp_path / "m" / "d" / "f.bin"
    (tmp_path / "outside").mkdir()
    (tmp_path / "m" / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(UnsafePathError, match="outside"):
        safe_join(tmp_path / "m", "link/f", what="f")


def test_safe_join_checks_links_at_any_depth_and_follows_those_that_stay_inside(
    tmp_path: Path,
) -> None:
    model = tmp_path / "m"
    (model / "d" / "inner").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("x")
    (model / "d" / "deep").symlink_to(tmp_path)  # a link two levels down, leading out
    (model / "last").symlink_to(tmp_path / "secret.txt")  # the last component, leading out
    (model / "d" / "here").symlink_to(model / "d" / "inner")  # a link that stays inside
    for relative in ("d/deep/secret.txt", "last", "d/deep"):
        with pytest.raises(UnsafePathError, match="outside"):
            safe_join(model, relative, what="f")
    assert safe_join(model, "d/here/f.bin", what="f") == model / "d" / "here" / "f.bin"
    # the model directory itself may be reached through a link: it is the trusted root
    (tmp_path / "alias").symlink_to(model)
    assert safe_join(tmp_path / "alias", "d/inner/x", what="f") == tmp_path / "alias/d/inner/x"


def test_hashes_cover_every_payload_file(tmp_path: Path) -> None:
    mlmodel = verify_model_dir(_write_model(tmp_path / "m"))
    assert sorted(mlmodel[HASHES_KEY]) == ["model.bin", "sub/vocab.txt"]


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_tampering_is_refused_by_name(damage: str, tmp_path: Path) -> None:
    path = _write_model(tmp_path / "m", b"0123456789" * 100)
    target = path / "sub" / "vocab.txt" if damage == "flip" else path / "model.bin"
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:10])
    elif damage == "flip":
        target.write_text("a b d")
    else:
        target.unlink()
    with pytest.raises(IntegrityError) as err:
        verify_model_dir(path)
    assert target.relative_to(path).as_posix() in str(err.value)


def test_hash_entries_cannot_point_outside(tmp_path: Path) -> None:
    path = _write_model(tmp_path / "m")
    mlmodel = read_mlmodel(path)
    mlmodel[HASHES_KEY]["../../etc/passwd"] = "0" * 64
    write_mlmodel(path, mlmodel)
    with pytest.raises(UnsafePathError):
        verify_model_dir(path)


def test_failure_inside_staging_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), staged_model_dir(tmp_path / "m") as tmp:
        (tmp / "model.bin").write_bytes(b"half")
        raise RuntimeError("crash while writing")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_rules(tmp_path: Path) -> None:
    _write_model(tmp_path / "m", b"v1")
    with pytest.raises(AlreadyExists, match="overwrite=True"):
        _write_model(tmp_path / "m", b"v2")
    assert (tmp_path / "m" / "model.bin").read_bytes() == b"v1"
    with staged_model_dir(tmp_path / "m", overwrite=True) as tmp:
        (tmp / "model.bin").write_bytes(b"v2")
        finalize(tmp, {"flavors": {"python_function": {"loader_module": "x"}}})
    assert (tmp_path / "m" / "model.bin").read_bytes() == b"v2"
    assert sorted(os.listdir(tmp_path)) == ["m"]
    (tmp_path / "empty").mkdir()
    _write_model(tmp_path / "empty")  # an empty directory is a fine target
    (tmp_path / "file").write_text("x")
    with pytest.raises(AlreadyExists, match="not a directory"):
        _write_model(tmp_path / "file")
    with pytest.raises(InvalidInput):
        _write_model(Path("."))


def test_symlinks_inside_a_saved_model_are_refused(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("s")
    with pytest.raises(UnsafePathError, match="symlink"), staged_model_dir(tmp_path / "m") as tmp:
        (tmp / "link").symlink_to(tmp_path / "secret")
        finalize(tmp, {"flavors": {"python_function": {"loader_module": "x"}}})
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("flavors: {python_function: {loader_module: x}", "YAML"),
        ("- a list\n", "mapping"),
        ("model_uuid: abc\n", "flavors"),
        ("flavors: {sklearn: 3}\n", "flavor 'sklearn'"),
        (b"\xff\xfe\x00bad", "YAML"),
    ],
)
def test_corrupt_mlmodel_is_a_typed_error(content: str | bytes, match: str, tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    target = tmp_path / "m" / "MLmodel"
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ModelFormatError, match=match):
        read_mlmodel(tmp_path / "m")


def test_missing_things(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound):
        read_mlmodel(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFormatError, match="no MLmodel"):
        read_mlmodel(tmp_path / "empty")


def test_unknown_keys_survive_a_write(tmp_path: Path) -> None:
    path = _write_model(tmp_path / "m")
    mlmodel = read_mlmodel(path)
    mlmodel["databricks_runtime"] = "15.4"
    mlmodel["flavors"]["python_function"]["future_key"] = [1, {"a": None}]
    write_mlmodel(path, mlmodel)
    raw = yaml.safe_load((path / "MLmodel").read_text())
    assert raw["databricks_runtime"] == "15.4"
    assert raw["flavors"]["python_function"]["future_key"] == [1, {"a": None}]
    verify_model_dir(path)


@pytest.mark.parametrize("relative", [".", "./", "./.", "/."])
def test_safe_join_refuses_the_directory_itself(relative: str, tmp_path: Path) -> None:
    # "." used to fail with IndexError, deep inside the check for a drive letter
    with pytest.raises(UnsafePathError, match="field"):
        safe_join(tmp_path, relative, what="field")
