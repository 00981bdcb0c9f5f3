"""The environment files of a model are read only if they are regular files inside it."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest

from modelpack.errors import UnsafePathError, UnsupportedFileError
from modelpack.serving.envs.spec import read_env_spec


def _model_dir(tmp_path: Path) -> Path:
    model = tmp_path / "m"
    model.mkdir(parents=True)
    (model / "python_env.yaml").write_text("python: 3.11.7\ndependencies:\n- -r requirements.txt\n")
    (model / "requirements.txt").write_text("scikit-learn==1.5.0\n")
    return model


def test_a_symlinked_python_env_is_not_read(tmp_path: Path) -> None:
    model = _model_dir(tmp_path)
    outside = tmp_path / "python_env.yaml"
    outside.write_text("python: 3.11.7\ndependencies:\n- evil-package\n")
    (model / "python_env.yaml").unlink()
    (model / "python_env.yaml").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="'python_env.yaml' .* symlink"):
        read_env_spec(model)


def test_a_fifo_requirements_file_is_never_opened(tmp_path: Path) -> None:
    model = _model_dir(tmp_path)
    fifo = model / "requirements.txt"
    fifo.unlink()
    os.mkfifo(fifo)

    def release() -> None:  # if the reader blocks on the FIFO, fail instead of hanging
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    timer = threading.Timer(10.0, release)
    timer.start()
    try:
        with pytest.raises(UnsupportedFileError, match="'requirements.txt' .* named pipe"):
            read_env_spec(model)
    finally:
        timer.cancel()
    assert read_env_spec(_model_dir(tmp_path / "ok")).requirements[0] == "scikit-learn==1.5.0"
