"""Ranking metrics from one sort: ROC AUC and average precision by groups of equal score.

scikit-learn sorts the scores again for every ranking metric and curve; here one sort
numbers each row's group of equal score, and per-group (optionally weighted) counts of
positives and negatives give both areas, both curves and every bootstrap resample.
"""

from __future__ import annotations

import math
from typing import Any

NAN = math.nan


def ratio(num: Any, den: Any) -> Any:
    """``num / den`` element-wise, 0 where ``den`` is 0 (scikit-learn's zero_division=0)."""
    import numpy as np

    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def score_groups(score: Any) -> Any:
    """Per row, the number of its group of equal score, counted from the highest score."""
    import numpy as np

    order = np.argsort(score)[::-1]  # highest first; ties form one group in any order
    ranked = score[order]
    starts = np.empty(len(score), dtype=np.int32)
    starts[0] = 0
    np.not_equal(ranked[1:], ranked[:-1], out=starts[1:])
    del ranked
    groups = np.empty(len(score), dtype=np.int32)
    groups[order] = np.cumsum(starts, out=starts)
    return groups


def auc(pos_w: Any, neg_w: Any) -> float:
    """ROC AUC from weighted positives and negatives per score group (highest first)."""
    import numpy as np

    total_pos, total_neg = pos_w.sum(), neg_w.sum()
    if total_pos == 0 or total_neg == 0:
        return NAN
    neg_below = total_neg - np.cumsum(neg_w)  # negatives with a strictly lower score
    return float((pos_w * (neg_below + 0.5 * neg_w)).sum() / (total_pos * total_neg))


def average_precision(pos_w: Any, neg_w: Any) -> float:
    """Average precision (scikit-learn's step-wise PR AUC) from score groups."""
    import numpy as np

    total_pos = pos_w.sum()
    if total_pos == 0:
        return NAN
    tp, fp = np.cumsum(pos_w), np.cumsum(neg_w)
    precision = ratio(tp, tp + fp)
    return float((pos_w / total_pos * precision).sum())


__all__ = ["auc", "average_precision", "ratio", "score_groups"]
