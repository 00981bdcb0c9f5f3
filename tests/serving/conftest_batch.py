"""Fixtures for the batch, docker and environment tests: one real iris model, saved once.

Imported by name from the test modules (``from conftest_batch import ...``) because
``tests/serving/conftest.py`` belongs to the HTTP server's tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from mlflow_venv import cache_dir

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
WriteInputs = Callable[..., Path]


def iris_frame(rows: int = 150, seed: int = 0) -> pd.DataFrame:
    """``rows`` iris-like rows: an ``id`` key column, then the four float features."""
    from sklearn.datasets import load_iris

    features = load_iris(as_frame=True).data.to_numpy()
    picked = np.random.default_rng(seed).integers(0, len(features), rows)
    frame = pd.DataFrame(features[picked], columns=FEATURES)
    frame.insert(0, "id", np.arange(rows, dtype=np.int64))
    return frame


@pytest.fixture(scope="session")
def iris_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A logistic regression on iris, saved with modelpack's sklearn flavor and a signature."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import modelpack

    data = load_iris(as_frame=True)
    features = data.data.set_axis(FEATURES, axis=1)
    estimator = LogisticRegression(max_iter=1000).fit(features, data.target)
    path = tmp_path_factory.mktemp("batch-models") / "iris"
    modelpack.sklearn.save_model(estimator, path, input_example=features.head(5))
    return path


@pytest.fixture(scope="session")
def iris_estimator(iris_model: Path) -> object:
    import modelpack

    return modelpack.load_model(iris_model).get_raw_model()


def write_table(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as parquet, CSV or JSON lines, by ``path``'s extension."""
    if path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    return path


def predict_process(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``modelpack predict *args`` as its own process, as a user runs it.

    Used where the job forks workers: forking the test runner itself would copy its
    threads and state into the workers.
    """
    command = [sys.executable, "-c", "from modelpack.cli import main; main()", "predict"]
    return subprocess.run(
        [*command, *map(str, args)], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def write_inputs(tmp_path: Path) -> WriteInputs:
    """Factory: ``write_inputs(n_files, rows, ext=".parquet")`` -> directory of input files
    ``part-000.ext``...; ids run on across files, so order is checkable."""

    def write(n_files: int = 1, rows: int = 150, ext: str = ".parquet") -> Path:
        directory = tmp_path / "inputs"
        directory.mkdir(exist_ok=True)
        for i in range(n_files):
            frame = iris_frame(rows, seed=i)
            frame["id"] += i * rows
            write_table(frame, directory / f"part-{i:03d}{ext}")
        return directory

    return write


__all__ = [
    "FEATURES",
    "env_cache",
    "WriteInputs",
    "iris_estimator",
    "iris_frame",
    "iris_model",
    "predict_process",
    "write_inputs",
    "write_table",
]


@pytest.fixture(scope="session")
def env_cache() -> Iterator[Path]:
    """``MODELPACK_ENV_CACHE`` pointed at the tests' cache outside the checkout
    (``$MODELPACK_TEST_CACHE/envs``), so built environments survive between test runs (a
    full build takes about a minute; a reuse, a second) and never land in the repository:
    pytest's own cache (``.pytest_cache``) is inside it and grew to 1.2 GB of virtualenvs."""
    path = cache_dir() / "envs"
    path.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELPACK_ENV_CACHE", str(path))
        yield path


def processes_mentioning(marker: str) -> list[int]:
    """Processes (other than this one) whose command line holds ``marker``: a job's
    workers or children left running after it should have stopped."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
