"""Every example script runs end to end, as a new user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(script: str, tmp_path: Path, *args: str) -> str:
    env = {**os.environ, "MODELPACK_TRACKING_URI": str(tmp_path / "store")}
    env.pop("MODELPACK_TRUST_PICKLE", None)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_iris_sklearn(tmp_path: Path) -> None:
    out = _run("iris_sklearn.py", tmp_path, str(tmp_path))
    assert "accuracy on 38 held-out rows: 0.9" in out or "accuracy on 38 held-out rows: 1.0" in out
    assert "bad input refused: column 'petal width (cm)'" in out
    assert (tmp_path / "iris-rf" / "MLmodel").is_file()


def test_sklearn_to_onnx(tmp_path: Path) -> None:
    out = _run("sklearn_to_onnx.py", tmp_path, str(tmp_path))
    assert "ONNX labels agree with scikit-learn: True" in out
    assert "bad input refused" in out and "float32" in out


def test_custom_pyfunc(tmp_path: Path) -> None:
    out = _run("custom_pyfunc.py", tmp_path, str(tmp_path))
    lines = out.splitlines()
    assert any("True" in line for line in lines) and any("False" in line for line in lines)


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_every_example_has_a_usage_docstring(script: str) -> None:
    source = (EXAMPLES / script).read_text()
    assert source.startswith('"""') and "python examples/" in source.split('"""')[1]


def test_quickstart_main_job(tmp_path: Path) -> None:
    env_store = tmp_path / "store"
    out = _run("quickstart.py", tmp_path)
    assert f"tracking store: {env_store}" in out
    assert "registered iris-classifier version 1, alias 'champion'" in out
    assert "batch-scored 5 rows" in out
    assert 'POST /invocations → 200 {"predictions": [' in out
    again = _run("quickstart.py", tmp_path)  # a second run registers version 2
    assert "registered iris-classifier version 2" in again
