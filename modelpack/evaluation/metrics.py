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

AVERAGES = ("binary", "micro", "macro", "weighted")
NAN = float("nan")


def _ratio(num: Any, den: Any) -> Any:
    import numpy as np

    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


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
            labels = np.unique(np.concatenate([y_true, y_pred]) if given is None else given)
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

        codes = np.searchsorted(self.labels, values)
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
        precision, recall = _ratio(tp, predicted), _ratio(tp, actual)
        f1 = _ratio(2 * tp, predicted + actual)
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
        p, r = float(_ratio(tp.sum(), predicted.sum())), float(_ratio(tp.sum(), actual.sum()))
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
                "precision": float(_ratio(tp[i], predicted[i])),
                "recall": float(_ratio(tp[i], actual[i])),
                "f1": float(_ratio(2 * tp[i], predicted[i] + actual[i])),
                "support": int(actual[i]),
            })  # fmt: skip
        return rows

    # -- probabilities ---------------------------------------------------------------

    def _usable_proba(self) -> bool:
        import numpy as np

        if self.proba is None or self.classes is None:
            return False
        return bool(np.isin(self.labels[np.unique(self.t)], self.classes).all())

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
        if weights is None:
            return self._sklearn_probability_metrics()
        return self._weighted_probability_metrics(weights)

    def _sklearn_probability_metrics(self) -> dict[str, float]:
        import numpy as np
        from sklearn import metrics as skm

        out = {"log_loss": float(skm.log_loss(self.y_true, self.proba, labels=self.classes))}
        single_class = len(np.unique(self.t)) < 2
        if self.pos is not None:
            score = self.pos_scores()
            if score is None or single_class:
                return {**out, "roc_auc": NAN, "precision_recall_auc": NAN}
            positive = self.t == self.pos
            out["roc_auc"] = float(skm.roc_auc_score(positive, score))
            out["precision_recall_auc"] = float(skm.average_precision_score(positive, score))
        elif self.average in ("macro", "weighted"):
            if not np.isin(self.classes, self.y_true).all():
                return {**out, "roc_auc": NAN}  # a class absent from the targets
            try:
                out["roc_auc"] = float(skm.roc_auc_score(
                    self.y_true, self.proba, average=self.average, multi_class="ovr",
                    labels=self.classes,
                ))  # fmt: skip
            except ValueError:  # a class absent from the targets: AUC is undefined
                out["roc_auc"] = NAN
        return out

    def pos_scores(self) -> Any:
        import numpy as np

        column = np.flatnonzero(np.asarray(self.classes) == self.pos_label)
        return None if len(column) == 0 else self.proba[:, int(column[0])]

    def _weighted_probability_metrics(self, weights: Any) -> dict[str, float]:
        import numpy as np

        if self._proba_prepared is None:
            self._proba_prepared = self._prepare_proba()
        row_loss, groups, positive = self._proba_prepared
        out = {"log_loss": float((row_loss * weights).sum() / weights.sum())}
        if groups is None:
            return out
        n_groups = int(groups.max()) + 1
        pos_w = np.bincount(groups, weights=weights * positive, minlength=n_groups)
        neg_w = np.bincount(groups, weights=weights * ~positive, minlength=n_groups)
        out["roc_auc"] = _auc(pos_w, neg_w)
        out["precision_recall_auc"] = _average_precision(pos_w, neg_w)
        return out

    def _prepare_proba(self) -> tuple[Any, Any, Any]:
        import numpy as np

        column_of = {c: i for i, c in enumerate(np.asarray(self.classes).tolist())}
        true_cols = np.array([column_of[label] for label in self.labels.tolist()])[self.t]
        proba = self.proba / self.proba.sum(axis=1, keepdims=True)
        eps = np.finfo(proba.dtype).eps
        picked = np.clip(proba[np.arange(len(proba)), true_cols], eps, 1 - eps)
        row_loss = -np.log(picked)
        score = self.pos_scores() if self.pos is not None else None
        if score is None or len(np.unique(self.t)) < 2:
            return row_loss, None, None
        # groups of equal score, numbered from the highest score down
        _, inverse = np.unique(-score, return_inverse=True)
        return row_loss, inverse, self.t == self.pos


def _auc(pos_w: Any, neg_w: Any) -> float:
    """ROC AUC from weighted positives and negatives per score group (highest first)."""
    import numpy as np

    total_pos, total_neg = pos_w.sum(), neg_w.sum()
    if total_pos == 0 or total_neg == 0:
        return NAN
    neg_below = total_neg - np.cumsum(neg_w)  # negatives with a strictly lower score
    return float((pos_w * (neg_below + 0.5 * neg_w)).sum() / (total_pos * total_neg))


def _average_precision(pos_w: Any, neg_w: Any) -> float:
    """Average precision (scikit-learn's step-wise PR AUC) from score groups."""
    import numpy as np

    total_pos = pos_w.sum()
    if total_pos == 0:
        return NAN
    tp, fp = np.cumsum(pos_w), np.cumsum(neg_w)
    precision = _ratio(tp, tp + fp)
    return float((pos_w / total_pos * precision).sum())


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
