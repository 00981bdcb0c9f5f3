"""The public surface, the weight of ``import modelpack``, and the direction of imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import modelpack

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_PUBLIC = {
    "Client", "ColSpec", "MetricThreshold", "ModelInfo", "ModelSignature", "ModelpackError", "ParamSchema",
    "ParamSpec", "PyFuncModel", "Schema", "SchemaError", "TensorSpec", "__version__",
    "active_run", "end_run", "evaluate", "get_tracking_uri", "infer_signature", "load_model",
    "log_artifact", "log_artifacts", "log_dict", "log_figure", "log_metric", "log_metrics",
    "log_param", "log_params", "register_model", "search_runs", "set_experiment", "set_tag",
    "set_tags", "set_tracking_uri", "spark_udf", "start_run",
}  # fmt: skip


def test_exported_members_match() -> None:
    assert set(modelpack.__all__) == EXPECTED_PUBLIC
    assert modelpack.__all__ == sorted(modelpack.__all__)
    for name in modelpack.__all__:
        assert getattr(modelpack, name) is not None, name


def test_flavors_resolve_by_short_name() -> None:
    import modelpack.flavors.sklearn

    assert modelpack.sklearn is modelpack.flavors.sklearn
    assert callable(modelpack.onnx.save_model) and callable(modelpack.pyfunc.PythonModel)
    with pytest.raises(AttributeError, match="no attribute 'xgboost'"):
        modelpack.xgboost  # noqa: B018


def test_import_is_light() -> None:
    code = (
        "import sys, modelpack; heavy = {'sklearn', 'onnxruntime', 'pandas', 'pyarrow', "
        "'numpy', 'onnx', 'starlette', 'yaml'}; print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("modelpack", ("modelpack.flavors", "modelpack.serving")),
        ("serving", ("modelpack.flavors",)),
        ("flavors", ("modelpack.serving",)),
    ],
)
def test_imports_point_one_way(folder: str, forbidden: tuple[str, ...]) -> None:
    offenders = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        if path == ROOT / "modelpack" / "cli.py":
            continue  # the one composition root
        offenders += [
            f"{path.relative_to(ROOT)} imports {name}"
            for name in _imports(path)
            if name.startswith(forbidden)
        ]
    assert offenders == []


def test_no_private_names_imported_across_packages() -> None:
    offenders = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        if path.parts[len(ROOT.parts)] not in ("modelpack", "flavors", "serving"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("modelpack")
            ):
                offenders += [
                    f"{path.relative_to(ROOT)}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert offenders == []
