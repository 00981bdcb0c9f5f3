"""modelpack: package trained models, enforce their signatures, serve them fast.

Every public name is resolved lazily, so ``import modelpack`` imports no numpy,
pandas, pyarrow, scikit-learn or onnxruntime.
"""

from __future__ import annotations

import importlib
import sys
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any, cast

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    # errors
    "MlflowException": "modelpack.errors",
    "ModelpackError": "modelpack.errors",
    "SchemaError": "modelpack.errors",
    # signatures
    "ColSpec": "modelpack.signature",
    "ModelSignature": "modelpack.signature",
    "ParamSchema": "modelpack.signature",
    "ParamSpec": "modelpack.signature",
    "Schema": "modelpack.signature",
    "TensorSpec": "modelpack.signature",
    "infer_signature": "modelpack.signature",
    # generic models
    "PyFuncModel": "modelpack.pyfunc_model",
    "load_model": "modelpack.pyfunc_model",
    # tracking and registry
    "ActiveRun": "modelpack.tracking",
    "Client": "modelpack.tracking",
    "MlflowClient": "modelpack.tracking",
    "ModelInfo": "modelpack.tracking",
    "active_run": "modelpack.tracking",
    "create_experiment": "modelpack.tracking",
    "delete_experiment": "modelpack.tracking",
    "delete_run": "modelpack.tracking",
    "delete_tag": "modelpack.tracking",
    "end_run": "modelpack.tracking",
    "get_artifact_uri": "modelpack.tracking",
    "get_experiment": "modelpack.tracking",
    "get_experiment_by_name": "modelpack.tracking",
    "get_parent_run": "modelpack.tracking",
    "get_registry_uri": "modelpack.tracking",
    "get_run": "modelpack.tracking",
    "get_tracking_uri": "modelpack.tracking",
    "is_tracking_uri_set": "modelpack.tracking",
    "last_active_run": "modelpack.tracking",
    "log_artifact": "modelpack.tracking",
    "log_artifacts": "modelpack.tracking",
    "log_dict": "modelpack.tracking",
    "log_figure": "modelpack.tracking",
    "log_metric": "modelpack.tracking",
    "log_metrics": "modelpack.tracking",
    "log_param": "modelpack.tracking",
    "log_params": "modelpack.tracking",
    "log_table": "modelpack.tracking",
    "log_text": "modelpack.tracking",
    "register_model": "modelpack.tracking",
    "restore_experiment": "modelpack.tracking",
    "restore_run": "modelpack.tracking",
    "search_experiments": "modelpack.tracking",
    "search_model_versions": "modelpack.tracking",
    "search_registered_models": "modelpack.tracking",
    "search_runs": "modelpack.tracking",
    "set_experiment": "modelpack.tracking",
    "set_experiment_tag": "modelpack.tracking",
    "set_experiment_tags": "modelpack.tracking",
    "set_registry_uri": "modelpack.tracking",
    "set_tag": "modelpack.tracking",
    "set_tags": "modelpack.tracking",
    "set_tracking_uri": "modelpack.tracking",
    "start_run": "modelpack.tracking",
    # evaluation
    "MetricThreshold": "modelpack.evaluation",
    "evaluate": "modelpack.evaluation",
    # scoring on Spark
    "spark_udf": "modelpack.spark",
}

# short names for the flavor plugins: modelpack.sklearn is modelpack.flavors.sklearn
_FLAVOR_MODULES = {"onnx", "pyfunc", "sklearn"}
# submodules reachable as attributes after a bare ``import modelpack``, as in mlflow
_SUBMODULES = {"models"}


class _FlavorAlias:
    """Makes ``import modelpack.sklearn`` (and ``from modelpack.pyfunc import ...``) load
    the plugin module ``modelpack.flavors.sklearn`` under its short name, lazily."""

    @classmethod
    def find_spec(cls, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        prefix, _, short = fullname.partition(".")
        if prefix != __name__ or short not in _FLAVOR_MODULES:
            return None
        return ModuleSpec(fullname, cast(Any, cls()))

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        short = spec.name.rpartition(".")[2]
        return importlib.import_module(f"{__name__}.flavors.{short}")

    def exec_module(self, module: ModuleType) -> None:
        """The plugin module ran when it was imported in ``create_module``."""


if not any(isinstance(finder, _FlavorAlias) for finder in sys.meta_path):
    sys.meta_path.append(_FlavorAlias())


def __getattr__(name: str) -> Any:
    if name in _FLAVOR_MODULES:
        module = importlib.import_module(f"modelpack.flavors.{name}")
        globals()[name] = module
        return module
    if name in _SUBMODULES:
        return importlib.import_module(f"modelpack.{name}")
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'modelpack' has no attribute '{name}'")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | _FLAVOR_MODULES | _SUBMODULES)


__all__ = sorted([*_LAZY, "__version__"])
