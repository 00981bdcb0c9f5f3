"""Helpers shared by the bench scripts: find the MLflow baseline, time fresh processes.

Every figure is the median wall time of a snippet run with ``python -c`` in a new
process, measured in the same run as its baseline, and reported as a ratio.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

MLFLOW_PYTHON_ENV = "MODELPACK_BENCH_MLFLOW_PYTHON"
DEFAULT_MLFLOW_PYTHON = "/opt/mlflow-venv/bin/python"
REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = REPO_ROOT / "tests" / "fixtures"

VENV_HELP = f"""\
The MLflow baseline interpreter was not found. Create it with:

    python3 -m venv /opt/mlflow-venv
    /opt/mlflow-venv/bin/pip install "mlflow>=3,<4" "scikit-learn==1.9.1" \\
        onnx onnxruntime skl2onnx skops pandas pyarrow

or point {MLFLOW_PYTHON_ENV} at a python that can `import mlflow`."""


class BenchError(RuntimeError):
    """A benchmark could not run (missing interpreter, failing snippet)."""


@dataclass(frozen=True)
class Timing:
    """The wall times of one snippet over several fresh processes."""

    label: str
    times: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def mlflow_python() -> str:
    """The MLflow venv's python: ``$MODELPACK_BENCH_MLFLOW_PYTHON`` or /opt/mlflow-venv."""
    python = os.environ.get(MLFLOW_PYTHON_ENV) or DEFAULT_MLFLOW_PYTHON
    if not Path(python).is_file():
        raise BenchError(f"{python}: no such interpreter.\n\n{VENV_HELP}")
    return python


def modelpack_python() -> str:
    """The interpreter modelpack is benchmarked in: the one running this script."""
    return sys.executable


def run_snippet(
    python: str, code: str, *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> str:
    """Run ``python -c code`` once in a fresh process; return its stdout."""
    proc = subprocess.run(
        [python, "-c", code],
        capture_output=True,
        text=True,
        env=_child_env(env),
        cwd=cwd,
        check=False,
    )
    if proc.returncode != 0:
        raise BenchError(
            f"{python} -c {code!r} exited {proc.returncode}:\n{proc.stderr.strip()[-2000:]}"
        )
    return proc.stdout


def time_snippet(
    label: str,
    python: str,
    code: str,
    *,
    runs: int = 7,
    warmup: int = 1,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Timing:
    """Time ``python -c code`` in ``runs`` fresh processes, after ``warmup`` untimed ones.

    The warm-up run fills the OS file cache and writes ``.pyc`` files, so every
    timed run measures a warm start, the same for both sides.
    """
    for _ in range(warmup):
        run_snippet(python, code, env=env, cwd=cwd)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run_snippet(python, code, env=env, cwd=cwd)
        times.append(time.perf_counter() - start)
    return Timing(label, tuple(times))


def _child_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    # Keep the caller's environment out of the interpreter under test.
    for name in ("PYTHONPATH", "PYTHONSTARTUP", "PYTHONWARNINGS", "PYTHONPROFILEIMPORTTIME"):
        env.pop(name, None)
    if extra:
        env.update(extra)
    return env


def format_seconds(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


def print_table(title: str, rows: Sequence[tuple[str, float]], baseline: str) -> None:
    """Print label, median time and the ratio to the ``baseline`` row's time."""
    base = dict(rows)[baseline]
    width = max(len(label) for label, _ in rows)
    print(f"\n{title}  (ratio = time / time of {baseline!r})")
    print(f"{'':{width}}  {'median':>12}  {'ratio':>12}")
    for label, seconds in rows:
        ratio = seconds / base if base > 0 else float("nan")
        print(f"{label:{width}}  {format_seconds(seconds)}  {ratio:11.3f}x")


def verdict(name: str, ratio: float, target: float) -> str:
    """A one-line pass/miss for a ratio target (smaller is better)."""
    status = "MET" if ratio <= target else "MISSED"
    return f"target {name}: ratio {ratio:.3f} (<= {target:.3f} wanted) -> {status}"


def exit_on_bench_error(err: BenchError) -> int:
    print(f"error: {err}", file=sys.stderr)
    return 2
