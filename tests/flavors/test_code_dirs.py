"""A custom model's code directory is imported from source and never written to, so
loading it again still passes the integrity check."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import modelpack
from modelpack.pyfunc import PythonModel


class UsesPackage(PythonModel):
    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        import mp_codedir_pkg.ops  # imported lazily, at predict time

        return mp_codedir_pkg.ops.double(model_input)


def test_loading_twice_after_importing_its_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "src" / "mp_codedir_pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "ops.py").write_text("def double(x):\n    return x * 2\n")
    modelpack.pyfunc.save_model(tmp_path / "m", python_model=UsesPackage(), code_paths=[package])
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # what a plain `python` does
    monkeypatch.setattr(sys, "path", list(sys.path))
    for name in ("mp_codedir_pkg", "mp_codedir_pkg.ops"):
        monkeypatch.delitem(sys.modules, name, raising=False)

    first = modelpack.load_model(tmp_path / "m", trust=True)
    assert first.predict(np.array([1, 2])).tolist() == [2, 4]
    assert sorted(p.name for p in (tmp_path / "m").rglob("__pycache__")) == []
    again = modelpack.load_model(tmp_path / "m", trust=True)  # the files are as saved
    assert again.predict(np.array([3])).tolist() == [6]
    assert sys.modules["mp_codedir_pkg.ops"].__file__ == str(
        tmp_path / "m" / "code" / "mp_codedir_pkg" / "ops.py"
    )
