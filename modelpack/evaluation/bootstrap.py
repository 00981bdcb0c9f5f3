"""Seeded bootstrap confidence intervals for candidate − baseline metric deltas.

Both models were scored on the same rows, so each resample draws rows once and
weighs both models' metrics by the same draw (a paired bootstrap). A "better by
0.001" whose interval straddles 0 is noise, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

DEFAULT_RESAMPLES = 200
DEFAULT_CONFIDENCE = 0.95


class WeightedMetrics(Protocol):
    def values(self, weights: Any = None) -> dict[str, float]: ...


@dataclass(frozen=True)
class Delta:
    """candidate − baseline for one metric, with its bootstrap interval (or None)."""

    metric: str
    candidate: float
    baseline: float
    delta: float
    ci_low: float | None
    ci_high: float | None

    @property
    def significant(self) -> bool | None:
        """Whether the interval excludes 0 (None when there is no interval)."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return self.ci_low > 0 or self.ci_high < 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "candidate": self.candidate, "baseline": self.baseline,
            "delta": self.delta, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "significant": self.significant,
        }  # fmt: skip


def deltas(
    candidate: WeightedMetrics,
    baseline: WeightedMetrics,
    candidate_values: dict[str, float],
    baseline_values: dict[str, float],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    rows: int,
) -> list[Delta]:
    """A :class:`Delta` for every metric both models have (``example_count`` aside)."""
    import numpy as np

    shared = [k for k in candidate_values if k in baseline_values and k != "example_count"]
    draws: dict[str, list[float]] = {k: [] for k in shared}
    if resamples > 0 and rows > 1:
        rng = np.random.default_rng(seed)
        for _ in range(resamples):
            weights = np.bincount(rng.integers(0, rows, rows), minlength=rows).astype(float)
            cand, base = candidate.values(weights), baseline.values(weights)
            for key in shared:
                if key in cand and key in base:
                    draws[key].append(cand[key] - base[key])
    tail = (1 - confidence) / 2 * 100
    out = []
    for key in shared:
        low = high = None
        sample = np.asarray(draws[key], dtype=float)
        sample = sample[np.isfinite(sample)]
        if len(sample) >= max(10, resamples // 2):
            low, high = (float(v) for v in np.percentile(sample, [tail, 100 - tail]))
        cand_value, base_value = candidate_values[key], baseline_values[key]
        out.append(Delta(key, cand_value, base_value, cand_value - base_value, low, high))
    return out


__all__ = ["DEFAULT_CONFIDENCE", "DEFAULT_RESAMPLES", "Delta", "deltas"]
