"""Classifier and regressor metrics, under MLflow's names, with optional row weights.

Each ``*Stats`` object holds one model's predictions and the targets, encoded once;
``values()`` gives the metrics, and ``values(weights)`` the same metrics on a
bootstrap resample (row ``i`` counted ``weights[i]`` times) without copying the rows.
Count-based metrics come from one weighted confusion matrix; the headline values are
checked against scikit-learn's own functions in the tests.

Documented values for awkward data: precision, recall and F1 of a class never
predicted are 0 (scikit-learn's ``zero_division=0``); ROC AUC and PR AUC are NaN when
the targets hold one class; log loss, ROC AUC and PR AUC are NaN when the targets hold
a label the model has no probability for.
"""

from __future__ import annotations

import math
from typing import Any

from modelpack.errors import InvalidInput
from modelpack.evaluation.ranking import auc, average_precision, ratio, score_groups

AVERAGES = ("binary", "micro", "macro", "weighted")
NAN = float("nan")


def _continuous(values: Any) -> bool:
    import numpy as np

    if values.dtype.kind != "f":
        return False
    return bool(np.any(values != np.round(values)))


class ClassifierStats:
    """One classifier's predictions against the targets, encoded as label indices."""

    def __init__(
        self,
        y_true: Any,
        y_pred: Any,
        proba: Any,
        classes: Any,
        config: dict[str, Any],
    ) -> None:
        import numpy as np

        if _continuous(y_true) or _continuous(y_pred):
            which = "targets" if _continuous(y_true) else "model's predictions"
            raise InvalidInput(
                f"model_type='classifier' but the {which} are continuous numbers; evaluate "
                "a regressor with model_type='regressor'"
            )
        try:
            given = config.get("label_list")
            # each side's labels on its own: no concatenated copy of two million values
            labels = (
                np.union1d(np.unique(y_true), np.unique(y_pred))
                if given is None
                else np.unique(given)
            )
        except TypeError:
            raise InvalidInput(
                f"targets ({y_true.dtype}) and predictions ({y_pred.dtype}) are of types "
                "that cannot be compared; the target column must hold the model's labels"
            ) from None
        if len(labels) < 2:
            raise InvalidInput(
                "the targets and the predictions hold a single class; classification metrics "
                "need two. Pass evaluator_config={'label_list': [...]} with every class"
            )
        self.labels = labels
        self.k = len(labels)
        self.t = self._codes(y_true, "targets")
        self.p = self._codes(y_pred, "predictions")
        self.y_true = y_true
        self._present = np.flatnonzero(np.bincount(self.t, minlength=self.k))  # target labels
        average = config.get("average", "binary" if self.k == 2 else "weighted")
        if average not in AVERAGES or (average == "binary" and self.k != 2):
            raise InvalidInput(
                f"evaluator_config average must be one of {', '.join(AVERAGES)} ('binary' "
                f"only with two classes); got {average!r} with {self.k} classes"
            )
        self.average = average
        self.pos = self._pos_index(config.get("pos_label"))
        self.proba, self.classes = proba, classes
        self._proba_prepared: tuple[Any, ...] | None = None

    def _codes(self, values: Any, what: str) -> Any:
        import numpy as np

        codes = np.searchsorted(self.labels, values).astype(np.int32)  # half the memory
        inside = codes < self.k
        if not inside.all() or not np.array_equal(self.labels[codes[inside]], values[inside]):
            raise InvalidInput(
                f"the {what} hold labels outside evaluator_config['label_list']; list every class"
            )
        return codes

    def _pos_index(self, pos_label: Any) -> int | None:
        import numpy as np

        found = np.flatnonzero(self.labels == pos_label) if pos_label is not None else [self.k - 1]
        if len(found) == 0:
            raise InvalidInput(
                "evaluator_config pos_label is not one of the labels in the targets and predictions"
            )
        return int(found[0]) if self.k == 2 else None

    @property
    def pos_label(self) -> Any:
        return None if self.pos is None else self.labels[self.pos]

    def confusion(self, weights: Any = None) -> Any:
        import numpy as np

        flat = np.bincount(self.t * self.k + self.p, weights=weights, minlength=self.k * self.k)
        return flat.reshape(self.k, self.k)

    def values(self, weights: Any = None) -> dict[str, float]:
        """The metrics (on a resample when ``weights`` is given)."""
        import numpy as np

        cm = self.confusion(weights)
        total = cm.sum()
        tp = np.diag(cm)
        predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
        precision, recall = ratio(tp, predicted), ratio(tp, actual)
        f1 = ratio(2 * tp, predicted + actual)
        out: dict[str, float] = {"example_count": float(total)}
        if self.pos is not None:
            neg = 1 - self.pos
            out.update(
                true_negatives=float(cm[neg, neg]), false_positives=float(cm[neg, self.pos]),
                false_negatives=float(cm[self.pos, neg]), true_positives=float(cm[self.pos, self.pos]),
            )  # fmt: skip
        out["accuracy_score"] = float(tp.sum() / total)
        for name, per_class in (("recall_score", recall), ("precision_score", precision),
                                ("f1_score", f1)):  # fmt: skip
            out[name] = self._average(per_class, tp, predicted, actual, name)
        out.update(self._probability_metrics(weights))
        return out

    def _average(self, per_class: Any, tp: Any, predicted: Any, actual: Any, name: str) -> float:
        if self.average == "binary":
            assert self.pos is not None
            return float(per_class[self.pos])
        if self.average == "macro":
            return float(per_class.mean())
        if self.average == "weighted":
            return float((per_class * actual).sum() / actual.sum())
        p, r = float(ratio(tp.sum(), predicted.sum())), float(ratio(tp.sum(), actual.sum()))
        if name == "precision_score":
            return p
        if name == "recall_score":
            return r
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def per_class(self) -> list[dict[str, Any]]:
        """Precision, recall, F1 and support of every label (one row per label)."""
        cm = self.confusion()
        tp, predicted, actual = cm.diagonal(), cm.sum(axis=0), cm.sum(axis=1)
        rows = []
        for i, label in enumerate(self.labels.tolist()):
            rows.append({
                "label": label,
                "precision": float(ratio(tp[i], predicted[i])),
                "recall": float(ratio(tp[i], actual[i])),
                "f1": float(ratio(2 * tp[i], predicted[i] + actual[i])),
                "support": int(actual[i]),
            })  # fmt: skip
        return rows

    # -- probabilities ---------------------------------------------------------------

    def _usable_proba(self) -> bool:
        import numpy as np

        if self.proba is None or self.classes is None:
            return False
        return bool(np.isin(self.labels[self._present], self.classes).all())

    def _probability_metrics(self, weights: Any) -> dict[str, float]:
        if self.proba is None or self.classes is None:
            return {}
        if not self._usable_proba():
            out = {"log_loss": NAN}
            if self.k == 2:
                out.update(roc_auc=NAN, precision_recall_auc=NAN)
            elif self.average in ("macro", "weighted"):
                out["roc_auc"] = NAN
            return out
        return self._computed_probability_metrics(weights)

    def _computed_probability_metrics(self, weights: Any) -> dict[str, float]:
        """Log loss from per-row losses; ROC AUC and average precision from one sort of the
        scores into groups of equal score (scikit-learn sorts once per metric and curve)."""

        if self._proba_prepared is None:
            self._proba_prepared = self._prepare_proba()
        row_loss, groups, positive = self._proba_prepared
        if weights is None:
            out = {"log_loss": float(row_loss.mean())}
        else:
            out = {"log_loss": float((row_loss * weights).sum() / weights.sum())}
        if self.pos is None:
            if weights is None and self.average in ("macro", "weighted"):
                out["roc_auc"] = self._multiclass_auc()
            return out
        if groups is None:
            return {**out, "roc_auc": NAN, "precision_recall_auc": NAN}
        pos_w, neg_w = self._group_counts(weights)
        out["roc_auc"] = auc(pos_w, neg_w)
        out["precision_recall_auc"] = average_precision(pos_w, neg_w)
        return out

    def _group_counts(self, weights: Any) -> tuple[Any, Any]:
        import numpy as np

        assert self._proba_prepared is not None
        _, groups, positive = self._proba_prepared
        n_groups = int(groups.max()) + 1
        pos = positive if weights is None else weights * positive
        neg = ~positive if weights is None else weights * ~positive
        return (
            np.bincount(groups, weights=pos, minlength=n_groups),
            np.bincount(groups, weights=neg, minlength=n_groups),
        )

    def _multiclass_auc(self) -> float:
        import numpy as np
        from sklearn import metrics as skm

        if not np.isin(self.classes, self.y_true).all():
            return NAN  # a class absent from the targets: one-vs-rest AUC is undefined
        try:
            return float(skm.roc_auc_score(
                self.y_true, self.proba, average=self.average, multi_class="ovr",
                labels=self.classes,
            ))  # fmt: skip
        except ValueError:
            return NAN

    def curves(self, max_points: int = 2000) -> tuple[Any, Any, Any, Any] | None:
        """(fpr, tpr, recall, precision) of a binary classifier at up to ``max_points``
        thresholds, or None without scores."""
        import numpy as np

        if self.pos is None or self.proba is None or not self._usable_proba():
            return None
        if self._proba_prepared is None:
            self._proba_prepared = self._prepare_proba()
        if self._proba_prepared[1] is None:
            return None
        pos_w, neg_w = self._group_counts(None)
        tps, fps = np.cumsum(pos_w), np.cumsum(neg_w)
        del pos_w, neg_w
        keep = np.unique(np.linspace(0, len(tps) - 1, min(len(tps), max_points)).astype(np.int64))
        tps, fps, total_pos, total_neg = tps[keep], fps[keep], tps[-1], fps[-1]
        fpr = np.concatenate([[0.0], fps / total_neg])
        tpr = np.concatenate([[0.0], tps / total_pos])
        return fpr, tpr, tps / total_pos, ratio(tps, tps + fps)

    def pos_scores(self) -> Any:
        import numpy as np

        column = np.flatnonzero(np.asarray(self.classes) == self.pos_label)
        return None if len(column) == 0 else self.proba[:, int(column[0])]

    def _prepare_proba(self) -> tuple[Any, Any, Any]:
        import numpy as np

        column_of = {c: i for i, c in enumerate(np.asarray(self.classes).tolist())}
        true_cols = np.array([column_of[label] for label in self.labels.tolist()])[self.t]
        picked = np.take_along_axis(self.proba, true_cols[:, None], axis=1)[:, 0]
        del true_cols
        picked /= self.proba.sum(axis=1)  # rows normalised, as scikit-learn's log_loss does
        eps = np.finfo(picked.dtype).eps
        row_loss = -np.log(np.clip(picked, eps, 1 - eps, out=picked), out=picked)
        score = self.pos_scores() if self.pos is not None else None
        if score is None or len(self._present) < 2:
            return row_loss, None, None
        return row_loss, score_groups(score), self.t == self.pos


class RegressorStats:
    """One regressor's predictions against the targets."""

    def __init__(self, y_true: Any, y_pred: Any) -> None:
        import numpy as np

        try:
            self.y = np.asarray(y_true, dtype=float)
            self.pred = np.asarray(y_pred, dtype=float)
        except (TypeError, ValueError):
            raise InvalidInput(
                "model_type='regressor' needs numeric targets and predictions; for labels "
                "use model_type='classifier'"
            ) from None
        if not np.isfinite(self.pred).all():
            raise InvalidInput(
                f"the model returned {int((~np.isfinite(self.pred)).sum())} NaN or infinite "
                "predictions; regression metrics need finite values"
            )

    def values(self, weights: Any = None) -> dict[str, float]:
        import numpy as np

        if weights is None:
            return self._sklearn_values()
        err = self.pred - self.y
        total = weights.sum()
        mse = float((weights * err**2).sum() / total)
        mean_y = (weights * self.y).sum() / total
        spread = (weights * (self.y - mean_y) ** 2).sum()
        sse = (weights * err**2).sum()
        r2 = float(1 - sse / spread) if spread > 0 else (1.0 if sse == 0 else 0.0)
        eps = np.finfo(np.float64).eps
        return {
            "example_count": float(total),
            "mean_absolute_error": float((weights * np.abs(err)).sum() / total),
            "mean_squared_error": mse,
            "root_mean_squared_error": math.sqrt(mse),
            "r2_score": r2,
            "max_error": float(np.abs(err)[weights > 0].max()),
            "mean_absolute_percentage_error": float(
                (weights * np.abs(err) / np.maximum(np.abs(self.y), eps)).sum() / total
            ),
        }

    def _sklearn_values(self) -> dict[str, float]:
        from sklearn import metrics as skm

        y, pred = self.y, self.pred
        mse = float(skm.mean_squared_error(y, pred))
        r2 = float(skm.r2_score(y, pred)) if len(y) > 1 else NAN
        return {
            "example_count": float(len(y)),
            "mean_absolute_error": float(skm.mean_absolute_error(y, pred)),
            "mean_squared_error": mse,
            "root_mean_squared_error": math.sqrt(mse),
            "sum_on_target": float(y.sum()),
            "mean_on_target": float(y.mean()),
            "r2_score": r2,
            "max_error": float(skm.max_error(y, pred)),
            "mean_absolute_percentage_error": float(skm.mean_absolute_percentage_error(y, pred)),
        }


__all__ = ["AVERAGES", "ClassifierStats", "RegressorStats"]
