"""``PyFuncModel``: any flavor's model behind one ``predict`` that enforces the signature.

Serving and batch scoring work only on this generic model; they never import a
flavor. ``load_model`` resolves a URI, verifies the directory and asks the flavor
plugin named in ``MLmodel`` for the model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack.errors import ModelFormatError, ModelpackError, PredictionError
from modelpack.mlmodel import PYFUNC_FLAVOR
from modelpack.types import Flavor, JSONDict, PredictImpl

if TYPE_CHECKING:
    from modelpack.signature import ModelSignature

TRUST_ENV = "MODELPACK_TRUST_PICKLE"


@dataclass(frozen=True)
class ModelMetadata:
    """What ``MLmodel`` says about a loaded model, plus where it was loaded from."""

    path: Path
    mlmodel: JSONDict = field(repr=False)

    @cached_property
    def signature(self) -> ModelSignature | None:
        """The parsed signature, or None when the model was saved without one."""
        raw = self.mlmodel.get("signature")
        if not raw:
            return None
        from modelpack.signature import ModelSignature

        return ModelSignature.from_dict(raw)

    @property
    def flavors(self) -> JSONDict:
        return dict(self.mlmodel["flavors"])

    @property
    def model_uuid(self) -> str | None:
        return self.mlmodel.get("model_uuid")

    @property
    def run_id(self) -> str | None:
        return self.mlmodel.get("run_id")

    @property
    def artifact_path(self) -> str | None:
        return self.mlmodel.get("artifact_path")

    @property
    def metadata(self) -> JSONDict:
        """The user's own ``metadata`` mapping given at save time."""
        return dict(self.mlmodel.get("metadata") or {})

    def get_input_schema(self) -> Any:
        return self.signature.inputs if self.signature else None

    def get_output_schema(self) -> Any:
        return self.signature.outputs if self.signature else None

    def get_params_schema(self) -> Any:
        return self.signature.params if self.signature else None

    def load_input_example(self) -> Any:
        """The input example saved with the model, or None."""
        from modelpack.input_example import load_input_example

        return load_input_example(self.path, self.mlmodel)


class PyFuncModel:
    """A loaded model of any flavor with one ``predict`` that checks input first.

    >>> model = modelpack.load_model("models:/iris/1")  # doctest: +SKIP
    >>> model.predict(frame)  # doctest: +SKIP
    """

    def __init__(self, impl: PredictImpl, metadata: ModelMetadata, flavor: Flavor) -> None:
        self._impl = impl
        self.metadata = metadata
        self.flavor = flavor

    def __repr__(self) -> str:
        return f"PyFuncModel(flavor={self.flavor.name!r}, path='{self.metadata.path}')"

    @property
    def signature(self) -> ModelSignature | None:
        return self.metadata.signature

    @property
    def rows_independent(self) -> bool:
        """Whether each row's prediction depends on that row alone (the flavor says so),
        so that requests may be merged into one batch and split back."""
        return bool(getattr(self.flavor, "rows_independent", False))

    def prepare_input(self, data: Any, params: Any = None) -> tuple[Any, dict[str, Any] | None]:
        """Enforce the signature on ``data`` and ``params``; return the converted pair.

        This is the one enforcement path: ``predict``, the HTTP server and the batch
        scorer all go through it. Raises :class:`modelpack.errors.SchemaError`.
        """
        signature = self.metadata.signature
        if signature is None:
            if params:
                from modelpack.signature import enforce_params

                return data, enforce_params(params, None)
            return data, None
        from modelpack.signature import enforce_params, enforce_schema

        if signature.inputs is not None:
            data = enforce_schema(data, signature.inputs)
        if params or signature.params is not None:
            params = enforce_params(params, signature.params)
        return data, params

    def predict_prepared(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Call the model on input that ``prepare_input`` has already checked."""
        try:
            return self._impl.predict(data, params)
        except ModelpackError:
            raise
        except Exception as exc:
            # The cause is chained for Python callers; the message never carries the data.
            raise PredictionError(
                f"the {self.flavor.name} model raised {type(exc).__name__} while predicting "
                "on input that matches its signature"
            ) from exc

    def predict(self, data: Any, params: Any = None) -> Any:
        """Check ``data`` and ``params`` against the signature, then predict.

        A DataFrame in gives a DataFrame out when the model returns named outputs
        (a dict of arrays, as ONNX models do); other results are returned as they are.
        """
        result = self.predict_prepared(*self.prepare_input(data, params))
        if isinstance(result, dict) and type(data).__name__ == "DataFrame":
            return _outputs_as_frame(result)
        return result

    def unwrap_python_model(self) -> Any:
        """The user's ``PythonModel`` object, for models saved with ``modelpack.pyfunc``."""
        python_model = getattr(self._impl, "python_model", None)
        if python_model is None:
            raise ModelFormatError(
                f"this is a {self.flavor.name} model, not a custom Python model; "
                "use get_raw_model() for the underlying object"
            )
        return python_model

    def get_raw_model(self) -> Any:
        """The flavor's own model object (estimator, inference session, Python model)."""
        return getattr(self._impl, "raw_model", self._impl)


def _outputs_as_frame(outputs: dict[str, Any]) -> Any:
    import pandas as pd

    columns = {}
    for name, value in outputs.items():
        multi = getattr(value, "ndim", 1) > 1
        columns[name] = list(value) if multi else value
    return pd.DataFrame(columns)


def trust_from_env(trust: bool | None) -> bool:
    """``trust`` if given, else whether ``MODELPACK_TRUST_PICKLE`` is set to a true value."""
    if trust is not None:
        return bool(trust)
    return os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes")


def fork_safe(flavor: Flavor) -> bool:
    """Whether a model of ``flavor`` may be loaded once and shared by forked workers:
    true unless the flavor declares ``fork_safe = False`` (native thread pools)."""
    return bool(getattr(flavor, "fork_safe", True))


def flavor_of(path: Path, mlmodel: JSONDict) -> Flavor:
    """The flavor plugin that loads the model whose ``MLmodel`` is ``mlmodel``."""
    from modelpack.plugins import flavor_for_loader

    flavors = mlmodel["flavors"]
    pyfunc = flavors.get(PYFUNC_FLAVOR)
    if pyfunc is None:
        raise ModelFormatError(
            f"the model at '{path}' has no {PYFUNC_FLAVOR} flavor (it has "
            f"{', '.join(flavors)}); load it with its own flavor's load_model"
        )
    loader = pyfunc.get("loader_module")
    if not isinstance(loader, str):
        raise ModelFormatError(f"MLmodel at '{path}': python_function.loader_module is missing")
    return flavor_for_loader(loader, [name for name in flavors if name != PYFUNC_FLAVOR])


def locate_model(model_uri: str | os.PathLike[str]) -> tuple[Path, JSONDict, Flavor]:
    """The verified directory, ``MLmodel`` and flavor plugin of a model, without loading it.

    >>> path, mlmodel, flavor = locate_model("models:/iris@champion")  # doctest: +SKIP
    """
    from modelpack.model_dir import verify_model_dir
    from modelpack.uris import resolve_model_uri

    path = resolve_model_uri(model_uri)
    mlmodel = verify_model_dir(path)
    return path, mlmodel, flavor_of(path, mlmodel)


def load_model(model_uri: str | os.PathLike[str], *, trust: bool | None = None) -> PyFuncModel:
    """Load any model as a :class:`PyFuncModel`, by path or URI.

    ``trust=True`` (or ``MODELPACK_TRUST_PICKLE=1``) allows payloads whose loading
    executes code (pickle, cloudpickle); without it they are refused.

    >>> model = load_model("models:/iris@champion")  # doctest: +SKIP
    """
    return load_located(*locate_model(model_uri), trust=trust)


def load_located(
    path: Path, mlmodel: JSONDict, flavor: Flavor, *, trust: bool | None = None
) -> PyFuncModel:
    """Load a model :func:`locate_model` found (its files already verified)."""
    impl = flavor.load_pyfunc(path, mlmodel, trust=trust_from_env(trust))
    return PyFuncModel(impl, ModelMetadata(path=path, mlmodel=mlmodel), flavor)


__all__ = [
    "ModelMetadata",
    "PyFuncModel",
    "TRUST_ENV",
    "flavor_of",
    "fork_safe",
    "load_located",
    "load_model",
    "locate_model",
    "trust_from_env",
]
