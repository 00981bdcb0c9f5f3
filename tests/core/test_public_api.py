"""The public surface and the weight of ``import modelpack`` (import rules: tests/test_layout.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import modelpack

ROOT = Path(__file__).resolve().parents[2]

EXPECTED_PUBLIC = {
    "Client", "ColSpec", "MetricThreshold", "MlflowClient", "ModelInfo", "ModelSignature",
    "ModelpackError", "ParamSchema",
    "ParamSpec", "PyFuncModel", "Schema", "SchemaError", "TensorSpec", "__version__",
    "active_run", "end_run", "evaluate", "get_tracking_uri", "infer_signature", "load_model",
    "log_artifact", "log_artifacts", "log_dict", "log_figure", "log_metric", "log_metrics",
    "log_param", "log_params", "register_model", "search_runs", "set_experiment", "set_tag",
    "set_tags", "set_tracking_uri", "spark_udf", "start_run",
    # MLflow's tracking and registry fluent API (tests/core/test_fluent_parity.py)
    "ActiveRun", "MlflowException", "create_experiment", "delete_experiment", "delete_run",
    "delete_tag", "get_artifact_uri", "get_experiment", "get_experiment_by_name",
    "get_parent_run", "get_registry_uri", "get_run", "is_tracking_uri_set", "last_active_run",
    "log_table", "log_text", "restore_experiment", "restore_run", "search_experiments",
    "search_model_versions", "search_registered_models", "set_experiment_tag",
    "set_experiment_tags", "set_registry_uri",
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
