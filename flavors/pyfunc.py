"""Custom Python models: subclass :class:`PythonModel`, save it with its artifacts.

The model object is stored with cloudpickle, so loading it executes code: it is
refused unless the caller trusts it (``trust=True`` or ``MODELPACK_TRUST_PICKLE=1``).
``load_model`` here loads *any* flavor as a generic :class:`PyFuncModel`. MLflow can load
and serve a directory saved here too, through :func:`_load_pyfunc`, wherever modelpack is
importable (same trust rule).

>>> class AddN(modelpack.pyfunc.PythonModel):
...     def predict(self, context, model_input, params=None):
...         return model_input + (params or {}).get("n", 1)
>>> modelpack.pyfunc.save_model("models/add", python_model=AddN())  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack.environment import pinned
from modelpack.errors import InvalidInput, ModelFormatError, UntrustedPayloadError
from modelpack.mlmodel import PYFUNC_FLAVOR
from modelpack.model_dir import safe_join
from modelpack.pyfunc_model import ModelMetadata, PyFuncModel, load_model
from modelpack.saving import save_model_dir
from modelpack.types import JSONDict, Params

if TYPE_CHECKING:
    from modelpack.signature import ModelSignature
    from modelpack.tracking import ModelInfo

MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"
CODE_DIR = "code"
LOADER_MODULE = "modelpack.flavors.pyfunc"


@dataclass(frozen=True)
class PythonModelContext:
    """What ``load_context`` and ``predict`` receive: artifact name → absolute local path."""

    artifacts: dict[str, str] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)


class PythonModel:
    """Base class of custom models. Override ``predict``; ``load_context`` is optional.

    >>> class Echo(PythonModel):
    ...     def predict(self, context, model_input, params=None):
    ...         return model_input
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Called once after loading, with the artifacts' local paths."""

    def predict(
        self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None
    ) -> Any:
        raise NotImplementedError("a PythonModel subclass must implement predict()")


def _copy_into(source: str | os.PathLike[str], dest_dir: Path, what: str) -> Path:
    src = Path(source)
    if not src.exists():
        raise InvalidInput(f"{what}: no file or directory at '{src}'")
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / src.name
    if src.is_dir():
        shutil.copytree(src, dest, symlinks=False)
    else:
        shutil.copy2(src, dest)
    return dest


def save_model(
    path: str | os.PathLike[str],
    *,
    python_model: PythonModel,
    artifacts: Mapping[str, str | os.PathLike[str]] | None = None,
    code_paths: Iterable[str | os.PathLike[str]] | None = None,
    model_config: Mapping[str, Any] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Iterable[str] | None = None,
    extra_pip_requirements: Iterable[str] | None = None,
    metadata: JSONDict | None = None,
    overwrite: bool = False,
) -> JSONDict:
    """Save a :class:`PythonModel` with its artifacts (copied in) and code paths.

    >>> save_model("models/tok", python_model=Tok(), artifacts={"vocab": "vocab.txt"})  # doctest: +SKIP
    """
    if not isinstance(python_model, PythonModel):
        raise InvalidInput(
            f"python_model must be an instance of a modelpack.pyfunc.PythonModel subclass, "
            f"got {type(python_model).__name__}"
        )
    artifacts = dict(artifacts or {})
    for name in artifacts:
        if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
            raise InvalidInput("artifact names must be non-empty strings without '/'")
    code_paths = list(code_paths or [])
    config = dict(model_config or {})

    def write(tmp: Path) -> dict[str, JSONDict]:
        import cloudpickle

        with (tmp / MODEL_FILE).open("wb") as handle:
            cloudpickle.dump(python_model, handle)
        artifact_block = {}
        for name, source in artifacts.items():
            copied = _copy_into(source, tmp / ARTIFACTS_DIR / name, f"artifact '{name}'")
            artifact_block[name] = {"path": copied.relative_to(tmp).as_posix()}
        for source in code_paths:
            _copy_into(source, tmp / CODE_DIR, "code path")
        block: JSONDict = {
            "loader_module": LOADER_MODULE,
            "python_model": MODEL_FILE,
            "cloudpickle_version": cloudpickle.__version__,
            "artifacts": artifact_block,
            "code": CODE_DIR if code_paths else None,
        }
        if config:
            block["model_config"] = config
        return {PYFUNC_FLAVOR: block}

    context = PythonModelContext({}, config)

    def predict_example(example: Any) -> Any:
        if artifacts:
            return None  # the model cannot be called before its artifacts are in place
        python_model.load_context(context)
        return python_model.predict(context, example)

    return save_model_dir(
        path,
        write,
        default_requirements=[pinned("cloudpickle")],
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        signature=signature,
        input_example=input_example,
        metadata=metadata,
        overwrite=overwrite,
        predict_example=predict_example,
    )


def log_model(
    name: str | None = None,
    *,
    python_model: PythonModel,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """Save the Python model into the active run's artifacts as ``name``; optionally register.

    ``artifact_path`` is MLflow 2's name for ``name`` (deprecated, warns).
    """
    from modelpack.tracking import log_model_dir

    return log_model_dir(
        lambda path: save_model(path, python_model=python_model, **save_kwargs),
        name,
        registered_model_name=registered_model_name,
        artifact_path=artifact_path,
    )


class _PythonModelPredictor:
    def __init__(self, python_model: PythonModel, context: PythonModelContext) -> None:
        self.python_model = python_model
        self.raw_model = python_model
        self._context = context
        parameters = inspect.signature(python_model.predict).parameters
        self._takes_params = "params" in parameters

    def predict(self, data: Any, params: Params | None = None) -> Any:
        if self._takes_params:
            return self.python_model.predict(self._context, data, params=dict(params or {}))
        return self.python_model.predict(self._context, data)


class PyFuncFlavor:
    """The plugin object registered under ``modelpack.flavors``."""

    name = PYFUNC_FLAVOR
    loader_modules = frozenset({LOADER_MODULE})

    def load_pyfunc(
        self, model_dir: Path, mlmodel: JSONDict, *, trust: bool
    ) -> _PythonModelPredictor:
        block = mlmodel["flavors"][PYFUNC_FLAVOR]
        model_file = safe_join(model_dir, block.get("python_model"), what="python_model")
        if not trust:
            raise UntrustedPayloadError(
                f"'{model_file.name}' is a cloudpickle file: loading a custom Python model runs "
                "its code. Pass trust=True (or set MODELPACK_TRUST_PICKLE=1) only if you trust "
                "whoever saved it"
            )
        if block.get("code"):
            from modelpack.flavors.code_dirs import add_code_dir

            add_code_dir(safe_join(model_dir, block["code"], what="python_function.code"))
        artifacts = {}
        for name, entry in (block.get("artifacts") or {}).items():
            relative = entry.get("path") if isinstance(entry, dict) else None
            artifacts[name] = str(safe_join(model_dir, relative, what=f"artifact '{name}'"))
        import cloudpickle

        try:
            with model_file.open("rb") as handle:
                python_model = cloudpickle.load(handle)
        except Exception as exc:
            raise ModelFormatError(
                f"'{model_file.name}' could not be unpickled ({type(exc).__name__}); it is corrupt "
                "or needs code that is not installed"
            ) from exc
        if not isinstance(python_model, PythonModel):
            raise ModelFormatError(f"'{model_file.name}' does not hold a PythonModel")
        context = PythonModelContext(artifacts, dict(block.get("model_config") or {}))
        python_model.load_context(context)
        return _PythonModelPredictor(python_model, context)


FLAVOR = PyFuncFlavor()


def _load_pyfunc(
    data_path: str, model_config: Mapping[str, Any] | None = None
) -> _PythonModelPredictor:
    """MLflow's loader-module hook: lets ``mlflow.pyfunc.load_model`` (and ``mlflow models
    serve``) load a directory saved here, when modelpack is importable. Trust follows
    ``MODELPACK_TRUST_PICKLE``, as for any other modelpack load; ``model_config`` from the
    caller overrides the saved one, as MLflow does.
    """
    from modelpack.mlmodel import read_mlmodel
    from modelpack.pyfunc_model import trust_from_env

    model_dir = Path(data_path)
    mlmodel = read_mlmodel(model_dir)
    if model_config:
        block = mlmodel["flavors"][PYFUNC_FLAVOR]
        block["model_config"] = {**(block.get("model_config") or {}), **model_config}
    return FLAVOR.load_pyfunc(model_dir, mlmodel, trust=trust_from_env(None))


__all__ = [
    "FLAVOR",
    "ModelMetadata",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "load_model",
    "log_model",
    "save_model",
]
