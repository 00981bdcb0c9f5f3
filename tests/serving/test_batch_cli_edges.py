"""Edges of the batch and Docker commands found in review: signals under
``--env-manager virtualenv``, repeated ``--keep-columns``, huge ``--batch-rows``, and
``generate-dockerfile`` with ``-d .`` or a run that fails."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import conftest_batch
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from conftest_batch import iris_frame, write_table

import modelpack
from modelpack.cli import cli
from modelpack.serving.envs import virtualenv as envs

iris_model = conftest_batch.iris_model
env_cache = conftest_batch.env_cache


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_a_column_kept_twice_is_written_once(tmp_path: Path, iris_model: Path) -> None:
    source = write_table(iris_frame(30), tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    again = tmp_path / "again.parquet"

    first = invoke("predict", "-m", iris_model, "-i", source, "-o", out, "--keep-columns", "id,id")
    second = invoke(
        "predict", "-m", iris_model, "-i", source, "-o", again, "-q",
        "--keep-columns", "id", "--keep-columns", "sepal_width,id",
    )  # fmt: skip

    assert first.exit_code == 0, first.stderr
    assert pd.read_parquet(out).columns.tolist() == ["id", "prediction"]
    assert second.exit_code == 0, second.stderr
    assert pd.read_parquet(again).columns.tolist() == ["id", "sepal_width", "prediction"]


def test_batch_rows_beyond_the_limit_is_a_usage_error(tmp_path: Path, iris_model: Path) -> None:
    source = write_table(iris_frame(10), tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"

    for huge in (2**31, 2**63, 10**30):
        result = invoke("predict", "-m", iris_model, "-i", source, "-o", out, "--batch-rows", huge)
        assert result.exit_code == 2, result.output
        assert "--batch-rows" in result.stderr and "2147483647" in result.stderr
        assert not out.exists()
    largest = invoke(
        "predict", "-m", iris_model, "-i", source, "-o", out, "-q", "--batch-rows", 2**31 - 1
    )
    assert largest.exit_code == 0, largest.stderr
    assert len(pd.read_parquet(out)) == 10


def test_dockerfile_into_the_empty_working_directory(
    iris_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "ctx"
    here.mkdir()
    before = os.stat(here)
    monkeypatch.chdir(here)

    result = invoke("generate-dockerfile", "-m", iris_model, "-d", ".")

    assert result.exit_code == 0, result.stderr
    assert str(here.resolve()) in result.stderr
    # Filled in place: a shell sitting in this directory sees the files.
    assert os.stat(here).st_ino == before.st_ino
    assert sorted(os.listdir(".")) == [
        "Dockerfile", "model", "modelpack-context.json", "requirements.txt", "wheels",
    ]  # fmt: skip
    assert (Path("model") / "MLmodel").is_file()
    assert sorted(os.listdir(tmp_path)) == ["ctx"]


def test_a_missing_model_leaves_no_parent_directories(tmp_path: Path) -> None:
    result = invoke(
        "generate-dockerfile", "-m", tmp_path / "missing", "-d", tmp_path / "a" / "b" / "ctx"
    )

    assert result.exit_code == 1
    assert "no model directory" in result.stderr and "Traceback" not in result.stderr
    assert os.listdir(tmp_path) == []


@pytest.fixture
def uncopyable_model(iris_model: Path, tmp_path: Path) -> Path:
    """The iris model plus a named pipe: it passes every check, then fails to copy."""
    model = tmp_path / "model"
    shutil.copytree(iris_model, model)
    os.mkfifo(model / "pipe")
    return model


@pytest.mark.parametrize("existing", [False, True], ids=["new-directory", "empty-directory"])
def test_a_failed_copy_leaves_nothing_behind(
    uncopyable_model: Path, tmp_path: Path, existing: bool
) -> None:
    target = tmp_path / "build" / "ctx" if not existing else tmp_path / "ctx"
    if existing:
        target.mkdir()

    result = invoke("generate-dockerfile", "-m", uncopyable_model, "-d", target)

    assert result.exit_code == 1
    assert "cannot write the build context" in result.stderr
    assert "None" not in result.stderr and "Traceback" not in result.stderr
    assert sorted(os.listdir(tmp_path)) == (["ctx", "model"] if existing else ["model"])
    if existing:
        assert os.listdir(target) == []


class _SlowModel(modelpack.pyfunc.PythonModel):
    """Answers zeros, a fifth of a second per batch: a job long enough to interrupt."""

    def predict(self, context: object, model_input: pd.DataFrame, params: object = None) -> object:
        time.sleep(0.2)
        return [0.0] * len(model_input)


@pytest.fixture(scope="module")
def slow_model_in_env(env_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A slow model whose virtualenv is built up front, so a test times only the job."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the CLI cannot import us
    try:
        model = tmp_path_factory.mktemp("slow") / "slow"
        modelpack.pyfunc.save_model(model, python_model=_SlowModel())
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    envs.python_for_model(model)
    return model


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_job_in_the_virtualenv(
    slow_model_in_env: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    source = write_table(iris_frame(400), tmp_path / "in.parquet")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "out.parquet"
    command = [sys.executable, "-c", "from modelpack.cli import main; main()", "predict"]
    command += ["-m", str(slow_model_in_env), "-i", str(source), "-o", str(out)]
    command += ["--batch-rows", "10", "--env-manager", "virtualenv", "--trust", "-q"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE)

    deadline = time.monotonic() + 60
    while not os.listdir(out_dir):  # the job in the virtualenv is writing batches
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()  # type: ignore[union-attr]
        time.sleep(0.05)
    proc.send_signal(sig)  # as `kill` does: to this process only
    _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 130, stderr
    # The job ended with the command: nothing runs on, nothing appears later.
    assert conftest_batch.processes_mentioning(str(out)) == []
    time.sleep(1)
    assert os.listdir(out_dir) == []
