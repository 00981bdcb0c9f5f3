"""``MetricThreshold`` as MLflow defines it, the checks it makes, and CLI gate strings.

>>> MetricThreshold(threshold=0.9, min_absolute_change=0.01, greater_is_better=True)
MetricThreshold(threshold=0.9, min_absolute_change=0.01, min_relative_change=None, greater_is_better=True)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelpack.errors import InvalidInput

#: Short names accepted wherever a metric is named (CLI gates, thresholds).
ALIASES = {
    "accuracy": "accuracy_score", "precision": "precision_score", "recall": "recall_score",
    "f1": "f1_score", "auc": "roc_auc", "pr_auc": "precision_recall_auc",
    "mae": "mean_absolute_error", "mse": "mean_squared_error",
    "rmse": "root_mean_squared_error", "r2": "r2_score", "mape": "mean_absolute_percentage_error",
}  # fmt: skip


def metric_name(name: str) -> str:
    """The full metric name for a short one (``f1`` -> ``f1_score``)."""
    return ALIASES.get(name, name)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(
            f"MetricThreshold {what} must be a finite number, got {type(value).__name__}"
        )
    return float(value)


@dataclass(frozen=True)
class MetricThreshold:
    """Pass/fail rules for one metric, with MLflow's meaning.

    - ``threshold``: the value must be >= it (<= when lower is better);
    - ``min_absolute_change``: better than the baseline by at least this much;
    - ``min_relative_change`` (0..1): better by at least this fraction of |baseline|
      (a baseline of exactly 0 needs the candidate to be better at all);
    - ``greater_is_better`` is required.

    Comparisons forgive float rounding (a relative 1e-12), so 0.85 passes
    "baseline 0.8 + 0.05".
    """

    threshold: float | None = None
    min_absolute_change: float | None = None
    min_relative_change: float | None = None
    greater_is_better: bool | None = None

    def __post_init__(self) -> None:
        if self.threshold is not None:
            _number(self.threshold, "threshold")
        if self.min_absolute_change is not None:
            if _number(self.min_absolute_change, "min_absolute_change") < 0:
                raise InvalidInput("MetricThreshold min_absolute_change must be >= 0")
        if self.min_relative_change is not None:
            if not 0 <= _number(self.min_relative_change, "min_relative_change") <= 1:
                raise InvalidInput("MetricThreshold min_relative_change must be between 0 and 1")
        if not isinstance(self.greater_is_better, bool):
            raise InvalidInput("MetricThreshold greater_is_better must be given: True or False")
        if (self.threshold, self.min_absolute_change, self.min_relative_change) == (None,) * 3:
            raise InvalidInput(
                "MetricThreshold needs threshold, min_absolute_change or min_relative_change"
            )

    @property
    def needs_baseline(self) -> bool:
        return self.min_absolute_change is not None or self.min_relative_change is not None


@dataclass(frozen=True)
class Check:
    """One rule applied to one metric: what was required, what came, and the verdict."""

    metric: str
    kind: str  # threshold | min_absolute_change | min_relative_change
    required: float
    candidate: float | None
    baseline: float | None
    passed: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "kind": self.kind, "required": self.required,
            "candidate": self.candidate, "baseline": self.baseline, "passed": self.passed,
        }  # fmt: skip


def _fmt(value: float | None) -> str:
    return "missing" if value is None else f"{value:.6g}"


def check_thresholds(
    thresholds: Mapping[str, MetricThreshold],
    candidate: Mapping[str, float],
    baseline: Mapping[str, float] | None,
) -> list[Check]:
    """Every check each threshold asks for, passed or not."""
    checks: list[Check] = []
    for raw_name, rule in thresholds.items():
        if not isinstance(rule, MetricThreshold):
            raise InvalidInput(
                f"validation_thresholds['{raw_name}'] must be a MetricThreshold, got "
                f"{type(rule).__name__}"
            )
        name = metric_name(raw_name)
        if rule.needs_baseline and baseline is None:
            raise InvalidInput(
                f"the threshold on '{name}' compares with a baseline (min_absolute_change or "
                "min_relative_change); pass baseline_model="
            )
        checks.extend(_checks_for(name, rule, candidate.get(name), (baseline or {}).get(name)))
    return checks


def _checks_for(
    name: str, rule: MetricThreshold, cand: float | None, base: float | None
) -> list[Check]:
    better = ">=" if rule.greater_is_better else "<="
    sign = 1.0 if rule.greater_is_better else -1.0

    def ok(value: float | None, bound: float) -> bool:
        if value is None or math.isnan(value) or math.isnan(bound):
            return False
        slack = 1e-12 * max(1.0, abs(bound))  # 0.8 + 0.05 is 0.8500000000000001 in floats
        return value >= bound - slack if rule.greater_is_better else value <= bound + slack

    out = []
    if rule.threshold is not None:
        passed = ok(cand, rule.threshold)
        out.append(Check(name, "threshold", rule.threshold, cand, base, passed,
                         f"{name}: candidate {_fmt(cand)} must be {better} {rule.threshold:g}"))  # fmt: skip
    if rule.min_absolute_change is not None:
        bound = None if base is None else base + sign * rule.min_absolute_change
        passed = bound is not None and ok(cand, bound)
        out.append(Check(name, "min_absolute_change", rule.min_absolute_change, cand, base, passed,
                         f"{name}: candidate {_fmt(cand)} must be {better} baseline {_fmt(base)} "
                         f"{'+' if sign > 0 else '-'} {rule.min_absolute_change:g}"))  # fmt: skip
    if rule.min_relative_change is not None:
        change = rule.min_relative_change
        if base is None:
            bound = None
        elif base == 0:
            bound = sign * 1e-10  # MLflow: with a zero baseline, simply better
        else:
            bound = base + sign * change * abs(base)
        passed = bound is not None and ok(cand, bound)
        out.append(Check(name, "min_relative_change", change, cand, base, passed,
                         f"{name}: candidate {_fmt(cand)} must be {better} baseline {_fmt(base)} "
                         f"changed by {change:.4g} of its magnitude"))  # fmt: skip
    return out


_GATE_RE = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][\w.]*)\s*(?P<op>>=|<=)\s*"
    r"(?:(?P<number>[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|"
    r"baseline\s*(?:(?P<sign>[-+])\s*(?P<change>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)(?P<pct>%)?)?)\s*$"
)


def parse_gates(gates: list[str]) -> dict[str, MetricThreshold]:
    """CLI gates to thresholds, several gates on one metric merged.

    ``accuracy>=0.9`` (a threshold), ``f1>=baseline+0.01`` (min_absolute_change),
    ``rmse<=baseline-5%`` (min_relative_change 0.05), ``log_loss<=baseline``.
    """
    merged: dict[str, dict[str, Any]] = {}
    for gate in gates:
        match = _GATE_RE.match(gate)
        if match is None:
            raise InvalidInput(
                f"gate '{gate[:80]}' is not understood; write METRIC>=NUMBER, METRIC<=NUMBER, "
                "METRIC>=baseline+DELTA, METRIC<=baseline-DELTA or a DELTA in % "
                '(e.g. "accuracy>=0.9", "f1>=baseline+0.01")'
            )
        name, greater = metric_name(match["metric"]), match["op"] == ">="
        fields = merged.setdefault(name, {"greater_is_better": greater})
        if fields["greater_is_better"] != greater:
            raise InvalidInput(f"gates on '{name}' mix >= and <=; use one direction per metric")
        if match["number"] is not None:
            fields["threshold"] = float(match["number"])
            continue
        change = float(match["change"] or 0.0)
        if match["sign"] and (match["sign"] == "+") != greater:
            raise InvalidInput(
                f"gate '{gate[:80]}' allows the candidate to be worse than the baseline; "
                "write >=baseline+DELTA or <=baseline-DELTA"
            )
        if match["pct"]:
            fields["min_relative_change"] = change / 100
        else:
            fields["min_absolute_change"] = change
    return {name: MetricThreshold(**fields) for name, fields in merged.items()}


__all__ = ["ALIASES", "Check", "MetricThreshold", "check_thresholds", "metric_name", "parse_gates"]
