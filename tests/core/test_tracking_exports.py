"""The tracking names ``modelpack`` exports lazily all exist, and tracking stays lazy."""

from __future__ import annotations

import subprocess
import sys

import modelpack
import modelpack.tracking


def test_every_lazy_tracking_name_exists() -> None:
    lazy = [name for name, module in modelpack._LAZY.items() if module == "modelpack.tracking"]
    assert lazy, "modelpack exports no tracking names"
    missing = [name for name in lazy if name not in modelpack.tracking.__all__]
    assert missing == []
    for name in [*lazy, "log_model_dir"]:
        assert getattr(modelpack.tracking, name) is not None
    assert modelpack.tracking.__all__ == sorted(modelpack.tracking.__all__)


def test_import_modelpack_does_not_import_tracking() -> None:
    code = (
        "import sys, modelpack; print(any(m.startswith('modelpack.tracking') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
