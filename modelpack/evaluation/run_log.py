"""Log an evaluation to the active run (or a new one): metrics, tags, JSON and SVG plots."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from modelpack.evaluation import plots

if TYPE_CHECKING:
    from modelpack.evaluation.api import EvaluationResult
    from modelpack.tracking import Client

ARTIFACT_DIR = "evaluation"


def _plots(result: EvaluationResult, stats: Any, y: Any, pred: Any) -> dict[str, str]:
    import numpy as np

    if result.model_type == "regressor":
        return {"residuals.svg": plots.residuals(pred, y)}
    assert result.confusion_matrix is not None
    out = {
        "confusion_matrix.svg": plots.confusion_matrix(
            result.confusion_matrix["labels"], np.asarray(result.confusion_matrix["matrix"])
        )
    }
    found = stats.curves()
    if found is not None:
        fpr, tpr, recall, precision = found
        out["roc_curve.svg"] = plots.curve("roc", fpr, tpr, result.metrics["roc_auc"])
        out["pr_curve.svg"] = plots.curve(
            "pr", recall, precision, result.metrics["precision_recall_auc"]
        )
    return out


def log_result(
    result: EvaluationResult, stats: Any, y: Any, pred: Any, *, log_plots: bool
) -> Client:
    """Log ``result`` and fill in its ``run_id`` and ``artifacts``; return the run's client."""
    from modelpack.tracking import fluent
    from modelpack.tracking.entities import Metric

    active = fluent.active_run()
    started = active is None
    run = active if active is not None else fluent.start_run(run_name="evaluation")
    client, run_id = run.client, run.info.run_id
    result.run_id = run_id
    try:
        stamp = int(time.time() * 1000)
        rows = [Metric(k, v, stamp, 0) for k, v in result.metrics.items()]
        rows += [
            Metric(f"baseline_{k}", v, stamp, 0) for k, v in (result.baseline_metrics or {}).items()
        ]
        tags = {
            "modelpack.evaluation.data_digest": result.data_digest,
            "modelpack.evaluation.rows": str(result.rows),
            "modelpack.evaluation.passed": "true" if result.passed else "false",
        }
        client.log_batch(run_id, metrics=rows, tags=tags)
        files = _plots(result, stats, y, pred) if log_plots else {}
        for name, svg in files.items():
            client.log_text(run_id, svg, f"{ARTIFACT_DIR}/{name}")
        result.artifacts = [f"{ARTIFACT_DIR}/{name}" for name in ["metrics.json", *files]]
        client.log_dict(run_id, result.to_dict(), f"{ARTIFACT_DIR}/metrics.json")
    except BaseException:
        if started:
            fluent.end_run("FAILED")
        raise
    if started:
        fluent.end_run()
    return client


__all__ = ["ARTIFACT_DIR", "log_result"]
