"""``modelpack.sklearn.autolog``: log every scikit-learn ``fit`` without changing it.

The outermost ``fit`` of an estimator, Pipeline or search logs its parameters
(``get_params(deep=True)``, so a Pipeline's are flattened as ``step__param``), training
metrics for its type, the training data's shape and digest, and the fitted model with
an inferred signature. ``GridSearchCV``/``RandomizedSearchCV`` also log the best
parameters (``best_<name>``) and one child run per candidate, best first, up to
``max_tuning_runs``. Fits inside an active run log into it; otherwise a run is started
and ended around the fit.

Logging never changes what ``fit`` returns or raises: a logging failure is reported as
a warning on the ``modelpack.autolog`` logger and the fit's own result comes back.

>>> modelpack.sklearn.autolog()  # doctest: +SKIP
>>> Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, y)  # doctest: +SKIP
>>> modelpack.sklearn.autolog(disable=True)  # the original methods are back  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from modelpack.errors import InvalidInput

logger = logging.getLogger("modelpack.autolog")

MAX_PARAM_LENGTH = 6000
_ORIGINAL = "__modelpack_autolog_original__"


@dataclass(frozen=True)
class AutologConfig:
    log_models: bool = True
    log_input_examples: bool = False
    max_tuning_runs: int = 5
    #: the flavor's ``log_model``, handed in by ``modelpack.sklearn.autolog`` so that
    #: this module does not import the flavor module that imports it
    log_model: Callable[..., Any] | None = None


_lock = threading.Lock()
_depth = 0  # fits in progress in any thread: only the outermost one logs
_config: AutologConfig | None = None
_patched: list[tuple[type, Callable[..., Any]]] = []


@functools.lru_cache(maxsize=1)
def _fit_owners() -> tuple[type, ...]:
    """The scikit-learn classes that define ``fit`` for some public estimator."""
    from sklearn.utils import all_estimators

    owners: dict[type, None] = {}
    for _, cls in all_estimators():
        for klass in cls.__mro__:
            if "fit" in klass.__dict__:
                if klass.__module__.startswith("sklearn."):
                    owners[klass] = None
                break
    return tuple(owners)


def autolog(
    log_models: bool = True,
    log_input_examples: bool = False,
    disable: bool = False,
    max_tuning_runs: int = 5,
    *,
    log_model: Callable[..., Any] | None = None,
) -> None:
    """Turn scikit-learn autologging on (again, with these settings) or off.

    Called through ``modelpack.sklearn.autolog``, which passes the flavor's ``log_model``.

    >>> modelpack.sklearn.autolog(log_models=False)  # doctest: +SKIP
    """
    global _config
    if (
        isinstance(max_tuning_runs, bool)
        or not isinstance(max_tuning_runs, int)
        or max_tuning_runs < 0
    ):
        raise InvalidInput(f"max_tuning_runs must be an integer >= 0, got {max_tuning_runs!r}")
    with _lock:
        _restore()
        if disable:
            _config = None
            return
        _config = AutologConfig(
            bool(log_models), bool(log_input_examples), max_tuning_runs, log_model
        )
        for owner in _fit_owners():
            original = owner.__dict__["fit"]
            owner.fit = _wrap(original)  # type: ignore[attr-defined]
            _patched.append((owner, original))


def _restore() -> None:
    while _patched:
        owner, original = _patched.pop()
        if getattr(owner.__dict__.get("fit"), _ORIGINAL, None) is original:
            owner.fit = original  # type: ignore[attr-defined]


@contextmanager
def _outermost() -> Iterator[bool]:
    global _depth
    with _lock:
        outer = _depth == 0 and _config is not None
        _depth += 1
    try:
        yield outer
    finally:
        with _lock:
            _depth -= 1


def _wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _outermost() as outer:
            config = _config
            if not outer or config is None:
                return original(self, *args, **kwargs)
            return _fit_and_log(original, self, args, kwargs, config)

    setattr(fit, _ORIGINAL, original)
    return fit


def _fit_and_log(
    original: Callable[..., Any], est: Any, args: Any, kwargs: Any, config: AutologConfig
) -> Any:
    from modelpack.tracking import fluent

    started = False
    try:
        run = fluent.active_run()
        if run is None:
            run, started = fluent.start_run(), True
    except Exception as exc:
        logger.warning("modelpack autolog: no run to log into (%s)", type(exc).__name__)
        return original(est, *args, **kwargs)
    try:
        result = original(est, *args, **kwargs)
    except BaseException:
        if started:
            _end(fluent, "FAILED")
        raise
    x = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    try:
        _log_fit(run, est, x, y, config)
    except Exception as exc:
        logger.warning(
            "modelpack autolog could not log the fit of %s (%s)", type(est).__name__,
            type(exc).__name__,
        )  # fmt: skip
    finally:
        if started:
            _end(fluent, "FINISHED")
    return result


def _end(fluent: Any, status: str) -> None:
    try:
        fluent.end_run(status)
    except Exception as exc:
        logger.warning("modelpack autolog could not end its run (%s)", type(exc).__name__)


def _log_fit(run: Any, est: Any, x: Any, y: Any, config: AutologConfig) -> None:
    client, run_id = run.client, run.info.run_id
    params = {k: _param(v) for k, v in est.get_params(deep=True).items()}
    tags = {"modelpack.autolog.estimator_class": f"{type(est).__module__}.{type(est).__name__}"}
    tags.update(_data_tags(x, y))
    metrics = _training_metrics(est, x, y)
    if hasattr(est, "best_params_"):
        params.update({f"best_{k}": _param(v) for k, v in est.best_params_.items()})
        if getattr(est, "best_score_", None) is not None:
            metrics["best_cv_score"] = float(est.best_score_)
    import time

    from modelpack.tracking.entities import Metric

    stamp = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, stamp, 0) for k, v in metrics.items()],
        params=params,
        tags=tags,
    )
    if hasattr(est, "cv_results_"):
        _log_candidates(client, run, est.cv_results_, config.max_tuning_runs)
    if config.log_models:
        _log_model(est, x, config)


def _param(value: Any) -> str:
    return str(value)[:MAX_PARAM_LENGTH]


def _data_tags(x: Any, y: Any) -> dict[str, str]:
    import numpy as np
    import pandas as pd

    digest = hashlib.sha256()
    for part in (x, y):
        if part is None:
            continue
        if isinstance(part, (pd.DataFrame, pd.Series)):
            digest.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        else:
            digest.update(np.ascontiguousarray(np.asarray(part)).tobytes())
    shape = getattr(x, "shape", None) or (len(x),)
    return {
        "modelpack.training_data.shape": "x".join(str(n) for n in shape),
        "modelpack.training_data.digest": digest.hexdigest()[:16],
    }


def _training_metrics(est: Any, x: Any, y: Any) -> dict[str, float]:
    if y is None:
        return {}
    from sklearn import metrics as skm
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}
    if callable(getattr(est, "score", None)):
        out["training_score"] = float(est.score(x, y))
    if is_classifier(est):
        pred = est.predict(x)
        out["training_accuracy_score"] = float(skm.accuracy_score(y, pred))
        for name, fn in (("precision", skm.precision_score), ("recall", skm.recall_score),
                         ("f1", skm.f1_score)):  # fmt: skip
            out[f"training_{name}_score"] = float(fn(y, pred, average="weighted", zero_division=0))
        if callable(getattr(est, "predict_proba", None)):
            proba = est.predict_proba(x)
            out["training_log_loss"] = float(skm.log_loss(y, proba, labels=est.classes_))
            if proba.shape[1] == 2:
                out["training_roc_auc"] = float(skm.roc_auc_score(y, proba[:, 1]))
            else:
                out["training_roc_auc"] = float(skm.roc_auc_score(
                    y, proba, multi_class="ovr", average="weighted", labels=est.classes_
                ))  # fmt: skip
    elif is_regressor(est):
        pred = est.predict(x)
        mse = float(skm.mean_squared_error(y, pred))
        out.update(
            training_mean_squared_error=mse,
            training_root_mean_squared_error=mse**0.5,
            training_mean_absolute_error=float(skm.mean_absolute_error(y, pred)),
            training_r2_score=float(skm.r2_score(y, pred)),
        )
    return out


def _log_candidates(client: Any, run: Any, results: dict[str, Any], cap: int) -> None:
    import time

    import numpy as np

    from modelpack.tracking.entities import Metric

    candidates = results["params"]
    rank_key = "rank_test_score" if "rank_test_score" in results else None
    order = np.argsort(results[rank_key], kind="stable") if rank_key else np.arange(len(candidates))
    score_keys = [k for k in results if k.startswith(("mean_", "std_", "rank_"))]
    client.set_tag(run.info.run_id, "modelpack.autolog.tuning_candidates", str(len(candidates)))
    stamp = int(time.time() * 1000)
    for position, index in enumerate(order[:cap]):
        child = client.create_run(
            run.info.experiment_id,
            run_name=f"{run.info.run_name}-candidate-{position + 1}",
            parent_run_id=run.info.run_id,
        )
        values = [Metric(k, float(results[k][index]), stamp, 0) for k in score_keys]
        params = {k: _param(v) for k, v in candidates[index].items()}
        client.log_batch(child.info.run_id, metrics=values, params=params)
        client.set_terminated(child.info.run_id, "FINISHED")


def _log_model(est: Any, x: Any, config: AutologConfig) -> None:
    from modelpack.signature import infer_signature

    if config.log_model is None:
        return

    head = x.iloc[:5] if hasattr(x, "iloc") else x[:5]
    signature = (
        infer_signature(head, est.predict(head))
        if callable(getattr(est, "predict", None))
        else None
    )
    example = head if config.log_input_examples else None
    config.log_model(est, "model", signature=signature, input_example=example)


__all__ = ["AutologConfig", "autolog"]
