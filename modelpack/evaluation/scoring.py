"""One model to score: a URI, a loaded model, an estimator or a plain callable.

A :class:`Scorer` gives labels (or values) and, for a classifier that has them,
class probabilities for each batch. A loaded modelpack model enforces its signature
before anything else sees the batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from modelpack.errors import InvalidInput, ModelpackError, PredictionError


@dataclass(frozen=True)
class ModelRef:
    """Which registered version a model is, when it is one."""

    uri: str | None
    name: str | None = None
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"uri": self.uri, "name": self.name, "version": self.version}


class Scorer:
    """Predicts on one batch of features; knows the model's classes when it has them."""

    def __init__(self, model: Any, ref: ModelRef, *, want_proba: bool) -> None:
        self.ref = ref
        self._pyfunc = None
        self._estimator: Any = None
        self._callable: Callable[[Any], Any] | None = None
        from modelpack.pyfunc_model import PyFuncModel

        if isinstance(model, PyFuncModel):
            self._pyfunc = model
            raw = model.get_raw_model()
            if callable(getattr(raw, "predict_proba", None)):
                self._estimator = raw
        elif callable(getattr(model, "predict", None)):
            self._estimator = model
        elif callable(model):
            self._callable = model
        else:
            raise InvalidInput(
                "model must be a model URI, a loaded model, an object with predict(), or a "
                f"callable; got {type(model).__name__}"
            )
        est = self._estimator
        self.classes: Any = getattr(est, "classes_", None) if est is not None else None
        self._proba = (
            want_proba
            and self.classes is not None
            and callable(getattr(est, "predict_proba", None))
        )

    @property
    def gives_probabilities(self) -> bool:
        return bool(self._proba)

    def score(self, features: Any) -> tuple[Any, Any]:
        """(predictions as a 1-D array, probabilities or None) for one batch."""
        import numpy as np

        if self._pyfunc is not None:
            data, params = self._pyfunc.prepare_input(features)
            predictions = _one_column(self._pyfunc.predict_prepared(data, params))
        else:
            data = features
            predictions = _one_column(self._call(self._predict_fn, features))
        proba = None
        if self._proba:
            inputs = _for_estimator(self._estimator, data)
            proba = np.asarray(self._call(self._estimator.predict_proba, inputs))
        return predictions, proba

    def _predict_fn(self, data: Any) -> Any:
        if self._callable is not None:
            return self._callable(data)
        return self._estimator.predict(_for_estimator(self._estimator, data))

    def _call(self, fn: Callable[[Any], Any], data: Any) -> Any:
        try:
            return fn(data)
        except ModelpackError:
            raise
        except Exception as exc:
            raise PredictionError(
                f"the model{_named(self.ref)} raised {type(exc).__name__} while predicting "
                "on the evaluation data"
            ) from exc


def _named(ref: ModelRef) -> str:
    return f" '{ref.uri}'" if ref.uri else ""


def _for_estimator(estimator: Any, data: Any) -> Any:
    """A DataFrame for an estimator fitted on named columns, else its values."""
    if hasattr(data, "to_numpy") and getattr(estimator, "feature_names_in_", None) is None:
        return data.to_numpy()
    return data


def _one_column(result: Any) -> Any:
    """The predictions as a 1-D array, whatever shape the model returned them in."""
    import numpy as np

    if isinstance(result, dict):
        key = next((k for k in ("label", "output_label", "predictions") if k in result), None)
        result = result[key] if key is not None else next(iter(result.values()))
    if hasattr(result, "columns"):  # a DataFrame: its one (or first) column
        result = result.iloc[:, 0]
    values = np.asarray(result)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise InvalidInput(
            f"the model returned predictions of shape {values.shape}; evaluation needs one "
            "value per row (a label for a classifier, a number for a regressor)"
        )
    return values


def resolve(model: Any, *, want_proba: bool) -> Scorer:
    """A :class:`Scorer` for anything ``evaluate`` accepts as a model."""
    if isinstance(model, (str, os.PathLike)):
        from modelpack.pyfunc_model import load_model

        ref = registered_ref(os.fspath(model))
        # load the exact version the alias or stage named when it was looked up
        exact = f"models:/{ref.name}/{ref.version}" if ref.version is not None else ref.uri
        return Scorer(load_model(str(exact)), ref, want_proba=want_proba)
    return Scorer(model, ModelRef(None), want_proba=want_proba)


def registered_ref(uri: str) -> ModelRef:
    """The registered (name, version) a ``models:/`` URI names right now, else just the URI."""
    if not uri.startswith("models:"):
        return ModelRef(uri)
    from modelpack.tracking import Client
    from modelpack.tracking.resolve import parse_models_uri

    name, kind, value = parse_models_uri(uri)
    client = Client()
    if kind == "version":
        version = client.get_model_version(name, value).version
    elif kind == "alias":
        version = client.get_model_version_by_alias(name, value).version
    elif kind == "stage":
        found = client.get_latest_versions(name, [value])
        if not found:
            raise InvalidInput(f"model '{name}' has no version in stage {value}")
        version = found[0].version
    else:
        versions = client.search_model_versions(f"name = '{name}'")
        if not versions:
            raise InvalidInput(f"model '{name}' has no versions")
        version = max(v.version for v in versions)
    return ModelRef(uri, name, int(version))


__all__ = ["ModelRef", "Scorer", "registered_ref", "resolve"]
