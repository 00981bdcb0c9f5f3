"""Small, dependency-free SVG plots: confusion matrix, ROC and PR curves, residuals.

SVG text is escaped; a curve or scatter keeps at most ``MAX_POINTS`` points, so a
million-row evaluation still writes files of a few tens of kilobytes.
"""

from __future__ import annotations

from html import escape
from typing import Any

MAX_POINTS = 2000
_W, _H, _PAD = 420, 360, 50


def _frame(title: str, xlabel: str, ylabel: str, body: list[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" font-family="sans-serif" font-size="11">'
        f'<rect width="{_W}" height="{_H}" fill="white"/>'
        f'<text x="{_W / 2}" y="18" text-anchor="middle" font-size="13">{escape(title)}</text>'
        f'<text x="{_W / 2}" y="{_H - 8}" text-anchor="middle">{escape(xlabel)}</text>'
        f'<text x="14" y="{_H / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {_H / 2})">{escape(ylabel)}</text>'
    )
    return head + "".join(body) + "</svg>\n"


def _axes(x0: float, x1: float, y0: float, y1: float) -> tuple[list[str], Any, Any]:
    left, right, top, bottom = _PAD, _W - 20, 30, _H - _PAD
    span_x, span_y = (x1 - x0) or 1.0, (y1 - y0) or 1.0

    def sx(x: Any) -> Any:
        return left + (x - x0) / span_x * (right - left)

    def sy(y: Any) -> Any:
        return bottom - (y - y0) / span_y * (bottom - top)

    body = [
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        'fill="none" stroke="#444"/>'
    ]
    for i in range(5):
        fx, fy = x0 + span_x * i / 4, y0 + span_y * i / 4
        body.append(
            f'<text x="{sx(fx):.1f}" y="{bottom + 14}" text-anchor="middle">{fx:.3g}</text>'
            f'<text x="{left - 4}" y="{sy(fy) + 4:.1f}" text-anchor="end">{fy:.3g}</text>'
        )
    return body, sx, sy


def _thin(x: Any, y: Any) -> tuple[Any, Any]:
    import numpy as np

    if len(x) <= MAX_POINTS:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).astype(int))
    return x[keep], y[keep]


def _polyline(x: Any, y: Any, sx: Any, sy: Any, color: str) -> str:
    x, y = _thin(x, y)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(sx(x), sy(y), strict=True))
    return f'<polyline points="{points}" fill="none" stroke="{color}" stroke-width="1.5"/>'


def curve(kind: str, x: Any, y: Any, area: float) -> str:
    """A ROC (``kind="roc"``) or precision-recall (``kind="pr"``) curve."""
    body, sx, sy = _axes(0.0, 1.0, 0.0, 1.0)
    if kind == "roc":
        body.append(f'<line x1="{sx(0)}" y1="{sy(0)}" x2="{sx(1)}" y2="{sy(1)}" stroke="#bbb" '
                    'stroke-dasharray="4"/>')  # fmt: skip
        title, xl, yl, label = "ROC curve", "False positive rate", "True positive rate", "AUC"
    else:
        title, xl, yl, label = "Precision-recall curve", "Recall", "Precision", "AP"
    body.append(_polyline(x, y, sx, sy, "#1f77b4"))
    body.append(f'<text x="{sx(0.95)}" y="{sy(0.05)}" text-anchor="end">{label}={area:.3f}</text>')
    return _frame(title, xl, yl, body)


def confusion_matrix(labels: list[Any], matrix: Any) -> str:
    """A heat-map table of counts: true label by row, predicted label by column."""
    n = len(labels)
    size = min(48.0, (min(_W, _H) - 2 * _PAD) / max(n, 1))
    peak = float(matrix.max()) or 1.0
    body = []
    for i in range(n):
        for j in range(n):
            value = int(matrix[i, j])
            shade = int(255 - 200 * value / peak)
            x, y = _PAD + j * size, 40 + i * size
            ink = "white" if shade < 128 else "black"
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{size:.1f}" height="{size:.1f}" '
                f'fill="rgb({shade},{shade},255)" stroke="white"/>'
                f'<text x="{x + size / 2:.1f}" y="{y + size / 2 + 4:.1f}" fill="{ink}" '
                f'text-anchor="middle">{value}</text>'
            )
    for i, label in enumerate(labels):
        text = escape(str(label)[:12])
        body.append(
            f'<text x="{_PAD - 4}" y="{40 + (i + 0.5) * size + 4:.1f}" text-anchor="end">{text}</text>'
            f'<text x="{_PAD + (i + 0.5) * size:.1f}" y="{40 + n * size + 14:.1f}" '
            f'text-anchor="middle">{text}</text>'
        )
    return _frame("Confusion matrix", "Predicted label", "True label", body)


def residuals(y_pred: Any, y_true: Any) -> str:
    """Residual (true − predicted) against the predicted value, thinned to MAX_POINTS."""
    import numpy as np

    x, truth = np.asarray(y_pred, dtype=float), np.asarray(y_true, dtype=float)
    if len(x) > MAX_POINTS:  # an even sample over all the rows, not the first ones
        pick = np.random.default_rng(0).choice(len(x), MAX_POINTS, replace=False)
        x, truth = x[pick], truth[pick]
    resid = truth - x
    body, sx, sy = _axes(float(x.min()), float(x.max()), float(resid.min()), float(resid.max()))
    body.append(f'<line x1="{sx(x.min()):.1f}" y1="{sy(0):.1f}" x2="{sx(x.max()):.1f}" '
                f'y2="{sy(0):.1f}" stroke="#bbb" stroke-dasharray="4"/>')  # fmt: skip
    body.extend(
        f'<circle cx="{a:.1f}" cy="{b:.1f}" r="1.6" fill="#1f77b4" fill-opacity="0.6"/>'
        for a, b in zip(sx(x), sy(resid), strict=True)
    )
    return _frame("Residuals", "Predicted value", "True − predicted", body)


__all__ = ["MAX_POINTS", "confusion_matrix", "curve", "residuals"]
