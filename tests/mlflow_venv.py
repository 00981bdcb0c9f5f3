"""A cached virtual environment with real MLflow, for the tests that compare against it.

The first test that asks for it builds the environment (a couple of minutes, from the
package index the machine's pip uses); every later run reuses it. It lives outside the
checkout, in ``$MODELPACK_TEST_CACHE`` (default ``~/.cache/modelpack-tests``), so a test
run leaves nothing behind in the repository. A build that fails raises: a missing MLflow
fails the tests that need it, it never skips them.

>>> python = mlflow_python()  # doctest: +SKIP
>>> subprocess.run([python, "-c", "import mlflow"], check=True)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

MLFLOW_VERSION = "3.17.2"
#: Pinned to the versions in modelpack's own environment, so that pickles and skops
#: files cross between the two without version warnings.
REQUIREMENTS = (
    f"mlflow=={MLFLOW_VERSION}",
    "scikit-learn==1.9.1",
    "numpy==2.4.6",
    "pandas==3.1.1",
    "skops==0.16.0",
    "onnx",
    "onnxruntime",
    "skl2onnx",
    "pyarrow",
)


def cache_dir() -> Path:
    root = os.environ.get("MODELPACK_TEST_CACHE") or Path.home() / ".cache" / "modelpack-tests"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def mlflow_python() -> str:
    """The path of a Python interpreter that has MLflow installed; built once, then reused."""
    root = cache_dir()
    target = root / f"mlflow-{MLFLOW_VERSION}"
    python = target / "bin" / "python"
    # The venv is built in place (its scripts name their own path, so it cannot be
    # renamed afterwards); a marker written last says the build finished.
    done = target / ".modelpack-complete"
    with FileLock(str(root / f"mlflow-{MLFLOW_VERSION}.lock")):
        if done.exists():
            return str(python)
        shutil.rmtree(target, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(target)], check=True)
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *REQUIREMENTS],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"installing MLflow for the tests failed:\n{result.stderr[-4000:]}")
        done.write_text(" ".join(REQUIREMENTS) + "\n")
    return str(python)
