"""The UI package's public surface, and that ``import modelpack`` stays without Jinja2."""

from __future__ import annotations

import subprocess
import sys

import modelpack.ui


def test_public_names() -> None:
    assert modelpack.ui.__all__ == ["build_ui", "ui_mount"]


def test_import_modelpack_does_not_load_the_ui_or_jinja2() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c",
         "import sys, modelpack; print(sorted(m for m in sys.modules "
         "if m.split('.')[0] == 'jinja2' or m.startswith('modelpack.ui')))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert loaded == "[]"


def test_modelpack_ui_is_a_command() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "modelpack", "ui", "--help"], capture_output=True, text=True
    )
    assert shown.returncode == 0 and "--backend-store-uri" in shown.stdout
