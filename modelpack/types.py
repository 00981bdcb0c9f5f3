"""The contracts between core, flavors and serving, in one small file.

A flavor plugin is any object that satisfies :class:`Flavor`; the built-in ones are
registered under the entry-point group ``modelpack.flavors`` exactly like a third
party's. Core finds them through :mod:`modelpack.plugins` and never imports one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

#: A JSON-compatible mapping, as read from ``MLmodel`` or a request body.
JSONDict = dict[str, Any]
#: Parameters passed to ``predict`` after the params schema has checked them.
Params = Mapping[str, Any]


@runtime_checkable
class PredictImpl(Protocol):
    """What a flavor's pyfunc loader returns: the model behind ``PyFuncModel``.

    ``predict`` receives input that signature enforcement has already checked and
    converted (a pandas DataFrame for a column signature; an ndarray or a dict of
    ndarrays for a tensor signature; the caller's object when there is no signature).
    """

    def predict(self, data: Any, params: Params | None = None) -> Any: ...


@runtime_checkable
class Flavor(Protocol):
    """A flavor plugin.

    ``name`` is the key of the native block the flavor writes in ``MLmodel``
    (``sklearn``, ``onnx``; the generic Python-model flavor owns ``python_function``).
    ``loader_modules`` are the ``python_function.loader_module`` values it can load,
    which is how directories saved by MLflow are recognised (``mlflow.sklearn``).
    """

    name: str
    loader_modules: frozenset[str]

    # Optional: ``rows_independent = True`` declares that a prediction for one row
    # depends on that row alone, so a server may merge requests into one batch.
    # Flavors that do not say so are never merged unasked.
    #
    # Optional: ``fork_safe = False`` declares that a loaded model holds native
    # threads (an inference thread pool) that do not survive ``fork()``; servers and
    # batch scorers then load it in each worker process instead of before forking.
    # Flavors that do not say so are loaded once and shared copy-on-write.

    def load_pyfunc(self, model_dir: Path, mlmodel: JSONDict, *, trust: bool) -> PredictImpl:
        """Load the model in ``model_dir`` (already verified) for generic prediction."""
        ...


__all__ = ["Flavor", "JSONDict", "Params", "PredictImpl"]
