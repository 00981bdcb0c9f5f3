"""What a model directory may hold when it is loaded: regular files and directories only,
no link out of it, and (when MLmodel has a hash table) no file the table does not name."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import modelpack
from modelpack.errors import IntegrityError, UnsafePathError, UnsupportedFileError
from modelpack.input_example import load_input_example
from modelpack.mlmodel import HASHES_KEY, read_mlmodel, write_mlmodel
from modelpack.model_dir import finalize, staged_model_dir, verify_model_dir

X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
Y = np.array([0, 1, 0, 1])


@pytest.fixture(scope="session")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real scikit-learn model saved by modelpack (with hashes and an input example)."""
    path = tmp_path_factory.mktemp("saved") / "model"
    estimator = LogisticRegression().fit(X, Y)
    modelpack.sklearn.save_model(estimator, path, input_example=X[:2])
    return path


@pytest.fixture
def model(saved_model: Path, tmp_path: Path) -> Path:
    """A fresh copy of the saved model for one test to damage."""
    return Path(shutil.copytree(saved_model, tmp_path / "model"))


@pytest.fixture
def mlflow_style(model: Path) -> Path:
    """The same model without a hash table, as MLflow writes directories."""
    mlmodel = read_mlmodel(model)
    del mlmodel[HASHES_KEY]
    write_mlmodel(model, mlmodel)
    return model


def _predicts(path: Path) -> bool:
    return modelpack.load_model(path).predict(X).tolist() == [0, 1, 0, 1]


@contextlib.contextmanager
def _unix_socket(path: Path) -> Iterator[None]:
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        yield
    finally:
        server.close()


@contextlib.contextmanager
def _fifo_watchdog(fifo: Path, seconds: float = 10.0) -> Iterator[None]:
    """If the code under test blocks opening ``fifo``, open its write end after
    ``seconds`` so the test fails instead of hanging the suite."""

    def release() -> None:
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    timer = threading.Timer(seconds, release)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


SPECIALS: dict[str, Callable[[Path], contextlib.AbstractContextManager[None]]] = {
    "fifo": lambda p: contextlib.nullcontext(os.mkfifo(p)),
    "socket": _unix_socket,
}


@pytest.mark.parametrize("kind", sorted(SPECIALS))
@pytest.mark.parametrize("hashed", [True, False], ids=["modelpack", "mlflow-style"])
def test_special_files_are_refused_by_name(
    kind: str, hashed: bool, model: Path, mlflow_style: Path
) -> None:
    if hashed:  # mlflow_style stripped the table of the same copy: put it back
        finalize(model, read_mlmodel(model))
    (model / "sub").mkdir()
    special = model / "sub" / f"a-{kind}"
    with (
        SPECIALS[kind](special),
        _fifo_watchdog(special),
        pytest.raises(UnsupportedFileError) as err,
    ):
        modelpack.load_model(model)
    assert "'sub/a-" in err.value.message and "regular file" in err.value.message


def test_fifo_as_input_example_is_never_opened(mlflow_style: Path) -> None:
    example = mlflow_style / "input_example.json"
    example.unlink()
    os.mkfifo(example)
    mlmodel = read_mlmodel(mlflow_style)
    with _fifo_watchdog(example), pytest.raises(UnsupportedFileError, match="input_example.json"):
        load_input_example(mlflow_style, mlmodel)
    with _fifo_watchdog(example), pytest.raises(UnsupportedFileError, match="named pipe"):
        modelpack.load_model(mlflow_style)


@pytest.mark.parametrize("hashed", [True, False], ids=["modelpack", "mlflow-style"])
def test_symlinked_mlmodel_is_refused(hashed: bool, model: Path, mlflow_style: Path) -> None:
    if hashed:
        finalize(model, read_mlmodel(model))
    outside = model.parent / "elsewhere"
    outside.mkdir()
    (model / "MLmodel").rename(outside / "MLmodel")
    (model / "MLmodel").symlink_to(outside / "MLmodel")
    for load in (read_mlmodel, verify_model_dir, modelpack.load_model):
        with pytest.raises(UnsafePathError, match="'MLmodel' .* symlink"):
            load(model)


def test_symlinks_out_are_refused_in_an_mlflow_directory(mlflow_style: Path) -> None:
    secret = mlflow_style.parent / "secret.txt"
    secret.write_text("not the model's")
    (mlflow_style / "notes.txt").symlink_to(secret)
    with pytest.raises(UnsafePathError, match="'notes.txt' .* leads outside"):
        modelpack.load_model(mlflow_style)
    (mlflow_style / "notes.txt").unlink()
    (mlflow_style / "notes.txt").symlink_to("requirements.txt")  # a link that stays inside
    assert _predicts(mlflow_style)


@pytest.mark.parametrize(
    "added", ["extra.bin", ".DS_Store", "__pycache__/x.cpython-311.pyc", "sub/dir/notes.txt"]
)
def test_a_file_added_to_a_hashed_model_is_refused_by_name(added: str, model: Path) -> None:
    (model / added).parent.mkdir(parents=True, exist_ok=True)
    (model / added).write_bytes(b"added after the save")
    with pytest.raises(IntegrityError) as err:
        modelpack.load_model(model)
    assert f"'{added}'" in err.value.message and "not in the SHA-256 table" in err.value.message
    assert "added after the save" not in err.value.message  # named, never shown
    (model / added).unlink()
    assert _predicts(model)  # an empty directory left behind is harmless


def test_many_added_files_are_counted(model: Path) -> None:
    for i in range(8):
        (model / f"junk-{i}").write_text("x")
    with pytest.raises(IntegrityError, match=r"holds 8 file\(s\).*'junk-0'.*and 3 more"):
        verify_model_dir(model)


def test_a_directory_without_a_hash_table_loads_with_extra_files(mlflow_style: Path) -> None:
    (mlflow_style / "registered_model_meta").write_text("model_name: iris\n")
    (mlflow_style / ".DS_Store").write_bytes(b"\0")
    assert _predicts(mlflow_style)


def test_a_hash_entry_that_is_not_a_plain_name_is_refused(model: Path) -> None:
    mlmodel = read_mlmodel(model)
    mlmodel[HASHES_KEY]["./requirements.txt"] = mlmodel[HASHES_KEY].pop("requirements.txt")
    write_mlmodel(model, mlmodel)
    with pytest.raises(IntegrityError, match="requirements.txt"):
        verify_model_dir(model)


def test_a_save_refuses_a_fifo_in_its_payload(tmp_path: Path) -> None:
    with (
        pytest.raises(UnsupportedFileError, match="'pipe' .* named pipe"),
        staged_model_dir(tmp_path / "m") as tmp,
    ):
        (tmp / "model.bin").write_bytes(b"w")
        os.mkfifo(tmp / "pipe")
        finalize(tmp, {"flavors": {"python_function": {"loader_module": "x"}}})
    assert sorted(os.listdir(tmp_path)) == []
