"""A test run leaves nothing big in the checkout (the guard in ``tests/conftest.py``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from mlflow_venv import cache_dir

ROOT = Path(__file__).resolve().parents[1]


def run_guarded(project: Path, test_body: str) -> subprocess.CompletedProcess[str]:
    """Run one test under a copy of the suite's guard, in a project of its own."""
    (project / "tests").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "conftest.py", project / "tests" / "conftest.py")
    (project / "tests" / "test_it.py").write_text(
        f"from pathlib import Path\n\ndef test_it():\n    {test_body}\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_big_file_left_in_the_checkout_fails_the_run(tmp_path: Path) -> None:
    body = "(Path(__file__).parents[1] / 'venvs' / 'big.bin').parent.mkdir(); " + (
        "(Path(__file__).parents[1] / 'venvs' / 'big.bin').write_bytes(bytes(2 << 20))"
    )
    result = run_guarded(tmp_path / "project", body)

    assert result.returncode == 1, result.stdout
    assert "left 2 file(s) over 1 MB or new entries" in result.stdout
    assert "venvs/big.bin" in result.stdout
    assert "venvs (new at the top of the checkout)" in result.stdout


def test_small_files_and_files_outside_pass(tmp_path: Path) -> None:
    outside = tmp_path / "outside.bin"
    body = (
        f"Path({str(outside)!r}).write_bytes(bytes(2 << 20)); "
        "(Path(__file__).parent / 'small.txt').write_text('x' * 1000)"
    )
    result = run_guarded(tmp_path / "project", body)

    assert result.returncode == 0, result.stdout


def test_caches_of_the_tests_live_outside_the_checkout() -> None:
    assert not cache_dir().resolve().is_relative_to(ROOT)
