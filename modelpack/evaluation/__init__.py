"""Evaluate a candidate model against a baseline, gate promotions on the verdict."""

from __future__ import annotations

from modelpack.evaluation.api import EvaluationResult, evaluate
from modelpack.evaluation.bootstrap import Delta
from modelpack.evaluation.thresholds import Check, MetricThreshold, parse_gates
from modelpack.evaluation.verdict import require_evaluation

__all__ = [
    "Check",
    "Delta",
    "EvaluationResult",
    "MetricThreshold",
    "evaluate",
    "parse_gates",
    "require_evaluation",
]
