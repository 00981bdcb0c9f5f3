"""The scikit-learn flavor: save, log and load estimators.

The ``sklearn`` block in ``MLmodel`` uses MLflow's keys (``pickled_model``,
``serialization_format``, ``sklearn_version``), so MLflow's loader reads our models and
we read MLflow's; ``python_function.loader_module`` is ``mlflow.sklearn`` so that
MLflow's pyfunc loader does too. The default format is skops, which loads untrusted
only when every type in the file is on modelpack's exact allow-list (``sklearn_trust``);
pickle formats execute code when loaded and are refused unless the caller trusts the
model.

>>> import modelpack
>>> modelpack.sklearn.save_model(estimator, "models/iris")  # doctest: +SKIP
>>> modelpack.sklearn.load_model("models/iris").predict(frame)  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import os
import pickle
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack.environment import pinned
from modelpack.errors import (
    InvalidInput,
    ModelFormatError,
    UntrustedPayloadError,
)
from modelpack.mlmodel import PYFUNC_FLAVOR
from modelpack.model_dir import safe_join, verify_model_dir
from modelpack.saving import save_model_dir
from modelpack.types import JSONDict, Params

if TYPE_CHECKING:
    from modelpack.signature import ModelSignature
    from modelpack.tracking import ModelInfo

FLAVOR_NAME = "sklearn"
SERIALIZATION_FORMATS = ("skops", "cloudpickle", "pickle")
PREDICT_FNS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform")
_FILES = {"skops": "model.skops", "cloudpickle": "model.pkl", "pickle": "model.pkl"}
#: What ``python_function.loader_module`` names: MLflow's loader, so that MLflow's
#: ``pyfunc.load_model`` reads our directories; modelpack loads that name too.
LOADER_MODULE = "mlflow.sklearn"


def _check_choice(value: object, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise InvalidInput(f"{what} must be one of {', '.join(choices)}; got '{value}'")
    return str(value)


def _dump(sk_model: Any, path: Path, serialization_format: str) -> None:
    if serialization_format == "skops":
        from modelpack.flavors.sklearn_skops import import_skops_io

        import_skops_io().dump(sk_model, path)
    elif serialization_format == "cloudpickle":
        import cloudpickle

        with path.open("wb") as handle:
            cloudpickle.dump(sk_model, handle)
    else:
        with path.open("wb") as handle:
            pickle.dump(sk_model, handle, protocol=pickle.DEFAULT_PROTOCOL)


def _skops_trusted_types(path: Path) -> list[str]:
    """The types MLflow's loader must be told to trust for this file (skops' own view).

    MLflow passes this list to ``skops.io.load``; modelpack never reads it back, its
    own allow-list decides (see ``sklearn_trust``).
    """
    from modelpack.flavors.sklearn_skops import import_skops_io

    return list(import_skops_io().get_untrusted_types(file=path))


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    *,
    serialization_format: str = "skops",
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Iterable[str] | None = None,
    extra_pip_requirements: Iterable[str] | None = None,
    metadata: JSONDict | None = None,
    pyfunc_predict_fn: str = "predict",
    overwrite: bool = False,
) -> JSONDict:
    """Save a fitted estimator as a model directory at ``path``; return its MLmodel dict.

    ``serialization_format``: ``skops`` (default, safe to load), ``cloudpickle`` or
    ``pickle`` (loading them executes code and needs ``trust=True``).
    ``pyfunc_predict_fn`` is the method generic prediction calls.

    >>> save_model(clf, "models/iris", input_example=X.head())  # doctest: +SKIP
    """
    _check_choice(serialization_format, SERIALIZATION_FORMATS, "serialization_format")
    _check_choice(pyfunc_predict_fn, PREDICT_FNS, "pyfunc_predict_fn")
    if not callable(getattr(sk_model, pyfunc_predict_fn, None)):
        raise InvalidInput(
            f"{type(sk_model).__name__} has no method '{pyfunc_predict_fn}'; choose a "
            "pyfunc_predict_fn the estimator provides"
        )
    file_name = _FILES[serialization_format]

    def write(tmp: Path) -> dict[str, JSONDict]:
        _dump(sk_model, tmp / file_name, serialization_format)
        import sklearn

        block: JSONDict = {
            "pickled_model": file_name,
            "serialization_format": serialization_format,
            "sklearn_version": sklearn.__version__,
            "code": None,
        }
        if serialization_format == "skops":
            block["skops_trusted_types"] = _skops_trusted_types(tmp / file_name)
        return {
            PYFUNC_FLAVOR: {
                "loader_module": LOADER_MODULE,
                "model_path": file_name,
                "predict_fn": pyfunc_predict_fn,
            },
            FLAVOR_NAME: block,
        }

    defaults = [pinned("scikit-learn"), pinned("numpy"), pinned("scipy")]
    defaults.append(pinned("skops") if serialization_format == "skops" else pinned("cloudpickle"))
    return save_model_dir(
        path,
        write,
        default_requirements=defaults,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        signature=signature,
        input_example=input_example,
        metadata=metadata,
        overwrite=overwrite,
        predict_example=getattr(sk_model, pyfunc_predict_fn),
    )


def log_model(
    sk_model: Any,
    name: str | None = None,
    *,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """Save the estimator into the active run's artifacts as ``name``; optionally register it.

    ``artifact_path`` is MLflow 2's name for ``name`` (deprecated, warns).

    >>> info = log_model(clf, "model", registered_model_name="iris")  # doctest: +SKIP
    """
    from modelpack.tracking import log_model_dir

    return log_model_dir(
        lambda path: save_model(sk_model, path, **save_kwargs),
        name,
        registered_model_name=registered_model_name,
        artifact_path=artifact_path,
    )


def _load_file(path: Path, serialization_format: str, *, trust: bool) -> Any:
    if not path.is_file():
        raise ModelFormatError(f"payload file '{path.name}' is missing from the model directory")
    if serialization_format == "skops":
        from modelpack.flavors.sklearn_skops import load_skops

        return load_skops(path, trust=trust)
    if serialization_format not in SERIALIZATION_FORMATS:
        raise ModelFormatError(
            f"unknown sklearn serialization_format '{serialization_format}'; "
            f"known: {', '.join(SERIALIZATION_FORMATS)}"
        )
    if not trust:
        raise UntrustedPayloadError(
            f"'{path.name}' is a {serialization_format} file: loading it runs arbitrary code. "
            "Pass trust=True (or set MODELPACK_TRUST_PICKLE=1) only if you trust whoever saved "
            "it, or re-save the model with serialization_format='skops'"
        )
    import cloudpickle  # noqa: F401  (cloudpickle payloads may reference it by name)

    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except Exception as exc:
        raise ModelFormatError(
            f"'{path.name}' could not be unpickled ({type(exc).__name__}); the file is corrupt "
            "or was saved with incompatible library versions"
        ) from exc


def _load_from_dir(model_dir: Path, mlmodel: JSONDict, *, trust: bool) -> Any:
    block = mlmodel["flavors"].get(FLAVOR_NAME)
    if not isinstance(block, dict):
        raise ModelFormatError(f"MLmodel at '{model_dir}' has no '{FLAVOR_NAME}' flavor block")
    path = safe_join(model_dir, block.get("pickled_model"), what="sklearn.pickled_model")
    fmt = block.get("serialization_format", "cloudpickle")
    return _load_file(path, str(fmt), trust=trust)


def load_model(model_uri: str | os.PathLike[str], *, trust: bool | None = None) -> Any:
    """Load the fitted estimator itself from a path or URI.

    >>> clf = load_model("models:/iris/1")  # doctest: +SKIP
    """
    from modelpack.pyfunc_model import trust_from_env
    from modelpack.uris import resolve_model_uri

    model_dir = resolve_model_uri(model_uri)
    mlmodel = verify_model_dir(model_dir)
    return _load_from_dir(model_dir, mlmodel, trust=trust_from_env(trust))


def _array_twin(estimator: Any) -> Any | None:
    """A shallow copy that predicts on arrays without re-checking column names, or None.

    For a numeric DataFrame whose columns are exactly ``feature_names_in_``, predicting
    on ``frame.to_numpy()`` instead is the same, and several times cheaper per call,
    when nothing in the model selects or treats columns by name:
    - a plain scikit-learn estimator: no estimator anywhere in its parameters (a list
      of them included, as in ``VotingClassifier``), so no column transformer or user
      function, and no parameter naming a feature (``categorical_features=["city"]``);
    - a ``Pipeline`` of plain steps, where only the first step saw column names (a
      later step that did was fed DataFrames, by ``set_output``).
    """
    if _is_pipeline(estimator):
        return _pipeline_twin(estimator)
    if not _plain(estimator):
        return None
    twin = copy.copy(estimator)
    try:
        del twin.feature_names_in_
    except AttributeError:
        return None
    return twin


def _fitted_names(estimator: Any) -> Any:
    """The column names the model was fitted on, or None (fitted on arrays).

    A Pipeline reports its first step's names, so one that starts with "passthrough"
    reports none; the first real step has them.
    """
    if _is_pipeline(estimator):
        for _, step in estimator.steps:
            if not _passthrough(step):
                return getattr(step, "feature_names_in_", None)
        return None
    return getattr(estimator, "feature_names_in_", None)


def _is_pipeline(estimator: Any) -> bool:
    """Exactly a scikit-learn Pipeline; without importing ``sklearn.pipeline`` to find out
    (a model that holds one has imported it already)."""
    module = sys.modules.get("sklearn.pipeline")
    return module is not None and type(estimator) is module.Pipeline


def _passthrough(step: Any) -> bool:
    """A Pipeline step that passes its input on unchanged: None or "passthrough"."""
    return step is None or (isinstance(step, str) and step == "passthrough")


def _plain(estimator: Any) -> bool:
    """A scikit-learn estimator with no estimator and no feature name in its parameters."""
    from sklearn.base import BaseEstimator

    if not type(estimator).__module__.startswith("sklearn."):
        return False
    names = set(getattr(estimator, "feature_names_in_", ()))
    for value in estimator.get_params(deep=False).values():
        for item in _nested(value):
            if isinstance(item, BaseEstimator) or (isinstance(item, str) and item in names):
                return False
    return True


def _pipeline_twin(pipeline: Any) -> Any | None:
    steps = []
    named_seen = False
    for name, step in pipeline.steps:
        if _passthrough(step):
            steps.append((name, step))
            continue
        if hasattr(step, "feature_names_in_"):
            if named_seen:
                return None
            twin = _array_twin(step)
            if twin is None:
                return None
            steps.append((name, twin))
        elif not _plain(step):
            return None
        else:
            steps.append((name, step))
        named_seen = True
    twin_pipeline = copy.copy(pipeline)
    twin_pipeline.steps = steps
    return twin_pipeline


def _nested(value: Any) -> Iterator[Any]:
    """``value`` and everything inside it, through lists, tuples, sets and dict values."""
    yield value
    if isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _nested(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _nested(item)


class _SklearnPredictor:
    """Calls the chosen estimator method with the input shape it was fitted on."""

    def __init__(self, estimator: Any, predict_fn: str) -> None:
        self.raw_model = estimator
        self._fn = getattr(estimator, predict_fn)
        self._feature_names = _fitted_names(estimator)
        self._names = None if self._feature_names is None else list(self._feature_names)
        twin = _array_twin(estimator) if self._names is not None else None
        self._array_fn = None if twin is None else getattr(twin, predict_fn)

    def predict(self, data: Any, params: Params | None = None) -> Any:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            if self._feature_names is None:
                data = data.to_numpy()
            elif self._array_fn is not None and data.columns.tolist() == self._names:
                values = data.to_numpy()
                if values.dtype.kind in "biuf":
                    return self._array_fn(values)
        elif self._feature_names is not None and getattr(data, "ndim", 0) == 2:
            data = pd.DataFrame(data, columns=self._feature_names)
        return self._fn(data)


class SklearnFlavor:
    """The plugin object registered under ``modelpack.flavors``."""

    name = FLAVOR_NAME
    loader_modules = frozenset({"modelpack.flavors.sklearn", LOADER_MODULE})
    rows_independent = True

    def load_pyfunc(self, model_dir: Path, mlmodel: JSONDict, *, trust: bool) -> _SklearnPredictor:
        estimator = _load_from_dir(model_dir, mlmodel, trust=trust)
        predict_fn = mlmodel["flavors"][PYFUNC_FLAVOR].get("predict_fn", "predict")
        _check_choice(predict_fn, PREDICT_FNS, "python_function.predict_fn")
        if not callable(getattr(estimator, predict_fn, None)):
            raise ModelFormatError(f"the saved estimator has no method '{predict_fn}'")
        return _SklearnPredictor(estimator, predict_fn)


FLAVOR = SklearnFlavor()


def autolog(
    log_models: bool = True,
    log_input_examples: bool = False,
    disable: bool = False,
    max_tuning_runs: int = 5,
) -> None:
    """Log every outermost ``fit`` of a scikit-learn estimator into a run (or stop).

    Params, training metrics, the fitted model with its signature (``log_models``) and
    the data's shape and digest; a search's best params and up to ``max_tuning_runs``
    child runs. ``disable=True`` restores the original ``fit`` methods.

    >>> modelpack.sklearn.autolog()  # doctest: +SKIP
    """
    from modelpack.flavors import sklearn_autolog  # the patching code loads only when used

    sklearn_autolog.autolog(
        log_models, log_input_examples, disable, max_tuning_runs, log_model=log_model
    )


__all__ = ["FLAVOR", "SERIALIZATION_FORMATS", "autolog", "load_model", "log_model", "save_model"]
