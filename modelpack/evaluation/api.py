"""``modelpack.evaluate``: score a candidate (and a baseline) once on the same data.

>>> result = modelpack.evaluate(  # doctest: +SKIP
...     "models:/iris/4", "test.parquet", targets="species",
...     baseline_model="models:/iris@champion",
...     validation_thresholds={"f1_score": MetricThreshold(min_absolute_change=0.01,
...                                                        greater_is_better=True)},
... )
>>> result.metrics["accuracy_score"], result.passed  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelpack.errors import InvalidInput, ModelValidationFailed
from modelpack.evaluation import bootstrap
from modelpack.evaluation.data import BATCH_ROWS, DataStream
from modelpack.evaluation.scoring import ModelRef, Scorer, resolve
from modelpack.evaluation.thresholds import Check, MetricThreshold, check_thresholds

MODEL_TYPES = ("classifier", "regressor")
ExtraMetrics = Mapping[str, Callable[[Any, Any], float]] | Sequence[Callable[[Any, Any], float]]
_CONFIG_KEYS = {
    "average", "pos_label", "label_list", "bootstrap_resamples", "bootstrap_seed",
    "confidence", "log_plots", "batch_rows",
}  # fmt: skip


@dataclass
class EvaluationResult:
    """What ``evaluate`` found: metrics, deltas against the baseline, checks, verdict."""

    model_type: str
    candidate: ModelRef
    baseline: ModelRef | None
    metrics: dict[str, float]
    baseline_metrics: dict[str, float] | None
    deltas: list[bootstrap.Delta]
    checks: list[Check]
    data_digest: str
    rows: int
    per_class: list[dict[str, Any]] = field(default_factory=list)
    confusion_matrix: dict[str, Any] | None = None
    run_id: str | None = None
    artifacts: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every threshold check passed (and vacuously with no thresholds)."""
        return all(check.passed for check in self.checks)

    @property
    def failures(self) -> list[str]:
        return [check.message for check in self.checks if not check.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "model_type": self.model_type,
            "candidate": self.candidate.to_dict(),
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "data": {"digest": self.data_digest, "rows": self.rows},
            "metrics": self.metrics,
            "baseline_metrics": self.baseline_metrics,
            "deltas": [d.to_dict() for d in self.deltas],
            "checks": [c.to_dict() | {"message": c.message} for c in self.checks],
            "per_class": self.per_class,
            "confusion_matrix": self.confusion_matrix,
            "run_id": self.run_id,
            "artifacts": self.artifacts,
        }


def _extra(extra_metrics: ExtraMetrics | None) -> dict[str, Callable[[Any, Any], float]]:
    if extra_metrics is None:
        return {}
    if isinstance(extra_metrics, Mapping):
        return dict(extra_metrics)
    return {getattr(fn, "__name__", f"extra_{i}"): fn for i, fn in enumerate(extra_metrics)}


def _score_all(stream: DataStream, scorers: list[Scorer]) -> tuple[Any, list[tuple[Any, Any]]]:
    import numpy as np

    targets: list[Any] = []
    outputs: list[tuple[list[Any], list[Any]]] = [([], []) for _ in scorers]
    for features, target in stream.batches():
        targets.append(target)
        for scorer, (preds, probas) in zip(scorers, outputs, strict=True):
            pred, proba = scorer.score(features)
            if len(pred) != len(target):
                raise InvalidInput(
                    f"the model returned {len(pred)} predictions for {len(target)} rows"
                )
            preds.append(pred)
            probas.append(proba)
    joined = []
    for preds, probas in outputs:
        proba = None if probas[0] is None else np.concatenate(probas)
        joined.append((np.concatenate(preds), proba))
    return np.concatenate(targets), joined


def _stats(model_type: str, y: Any, pred: Any, proba: Any, scorer: Scorer, config: Any) -> Any:
    from modelpack.evaluation.metrics import ClassifierStats, RegressorStats

    if model_type == "regressor":
        return RegressorStats(y, pred)
    return ClassifierStats(y, pred, proba, scorer.classes, config)


def _values(
    stats: Any, extra: dict[str, Callable[[Any, Any], float]], y: Any, pred: Any
) -> dict[str, float]:
    values: dict[str, float] = stats.values()
    for name, fn in extra.items():
        try:
            values[name] = float(fn(y, pred))
        except Exception as exc:
            raise InvalidInput(
                f"extra metric '{name}' raised {type(exc).__name__}; it is called as "
                "fn(targets, predictions) with two 1-D numpy arrays and must return a number"
            ) from exc
    return values


def evaluate(
    model: Any,
    data: Any,
    *,
    targets: str | int,
    model_type: str = "classifier",
    baseline_model: Any = None,
    validation_thresholds: Mapping[str, MetricThreshold] | None = None,
    evaluator_config: Mapping[str, Any] | None = None,
    extra_metrics: ExtraMetrics | None = None,
) -> EvaluationResult:
    """Score ``model`` (and ``baseline_model``) on ``data``; log, record and check the verdict.

    ``model``/``baseline_model``: a URI (``models:/x/4``, ``models:/x@champion``,
    ``runs:/…``, a path), a loaded model, an estimator or a callable
    ``f(features DataFrame) -> predictions``. ``data``: a DataFrame, a 2-D array or a
    parquet/CSV path (read in batches). ``evaluator_config``: ``average``,
    ``pos_label``, ``label_list``, ``bootstrap_resamples`` (200; 0 turns the interval
    off), ``bootstrap_seed`` (0), ``confidence`` (0.95), ``log_plots`` (True),
    ``batch_rows``. ``extra_metrics``: ``{name: fn(targets, predictions) -> float}``.

    Metrics and artifacts go to the active run (or a new one); a registered candidate
    (``models:/``) gets the verdict as version tags. Failed thresholds raise
    :class:`~modelpack.errors.ModelValidationFailed` after everything is recorded.
    """
    if model_type not in MODEL_TYPES:
        raise InvalidInput(
            f"model_type must be one of {', '.join(MODEL_TYPES)}; got {model_type!r}"
        )
    config = dict(evaluator_config or {})
    unknown = sorted(set(config) - _CONFIG_KEYS)
    if unknown:
        raise InvalidInput(
            f"unknown evaluator_config keys {', '.join(map(str, unknown))}; known: "
            f"{', '.join(sorted(_CONFIG_KEYS))}"
        )
    thresholds = dict(validation_thresholds or {})
    if any(t.needs_baseline for t in thresholds.values() if isinstance(t, MetricThreshold)):
        if baseline_model is None:
            raise InvalidInput(
                "a threshold compares with a baseline (min_absolute_change or "
                "min_relative_change); pass baseline_model="
            )
    extra = _extra(extra_metrics)
    want_proba = model_type == "classifier"
    scorers = [resolve(model, want_proba=want_proba)]
    if baseline_model is not None:
        scorers.append(resolve(baseline_model, want_proba=want_proba))
    stream = DataStream(data, targets, batch_rows=int(config.get("batch_rows", BATCH_ROWS)))
    y, outputs = _score_all(stream, scorers)
    stats = [
        _stats(model_type, y, p, pr, s, config) for s, (p, pr) in zip(scorers, outputs, strict=True)
    ]
    metrics = _values(stats[0], extra, y, outputs[0][0])
    baseline_metrics = _values(stats[1], extra, y, outputs[1][0]) if len(stats) > 1 else None
    deltas = []
    if baseline_metrics is not None:
        deltas = bootstrap.deltas(
            stats[0], stats[1], metrics, baseline_metrics,
            resamples=int(config.get("bootstrap_resamples", bootstrap.DEFAULT_RESAMPLES)),
            confidence=float(config.get("confidence", bootstrap.DEFAULT_CONFIDENCE)),
            seed=int(config.get("bootstrap_seed", 0)), rows=len(y),
        )  # fmt: skip
    result = EvaluationResult(
        model_type=model_type,
        candidate=scorers[0].ref,
        baseline=scorers[1].ref if len(scorers) > 1 else None,
        metrics=metrics,
        baseline_metrics=baseline_metrics,
        deltas=deltas,
        checks=check_thresholds(thresholds, metrics, baseline_metrics),
        data_digest=stream.digest,
        rows=stream.rows,
    )
    if model_type == "classifier":
        cm = stats[0].confusion()
        labels = stats[0].labels.tolist()
        result.confusion_matrix = {"labels": labels, "matrix": cm.astype(int).tolist()}
        result.per_class = stats[0].per_class()
    from modelpack.evaluation.run_log import log_result

    client = log_result(
        result, stats[0], y, outputs[0][0], log_plots=bool(config.get("log_plots", True))
    )
    from modelpack.evaluation.verdict import record

    record(client, result)
    if not result.passed:
        failures = result.failures
        raise ModelValidationFailed(
            f"{len(failures)} of {len(result.checks)} evaluation checks failed: "
            + "; ".join(failures),
            failures,
            result,
        )
    return result


__all__ = ["EvaluationResult", "MODEL_TYPES", "evaluate"]
