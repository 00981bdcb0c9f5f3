"""A parallel coordinates plot as server-rendered SVG: one vertical axis per param or
metric, one polyline per run. Numbers are placed on a linear scale per axis; text values
(a param such as ``solver``) are spread evenly in sorted order. Missing values break the
line. Every label is XML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#1f5fbf", "#d1495b", "#edae49", "#00798c", "#66a182", "#8a63d2", "#2e4057", "#e07a5f")
WIDTH_PER_AXIS = 140
HEIGHT = 320
TOP, BOTTOM, SIDE = 40, 30, 60


def _as_number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _scale(values: Sequence[object]) -> tuple[dict[int, float], str, str]:
    """Each run's position on one axis in [0, 1] (1 is the top), and the end labels."""
    numbers = [_as_number(v) for v in values]
    present = [n for n in numbers if n is not None]
    if present and all(n is not None or v is None for n, v in zip(numbers, values, strict=True)):
        low, high = min(present), max(present)
        span = (high - low) or 1.0
        positions = {i: (n - low) / span if high != low else 0.5
                     for i, n in enumerate(numbers) if n is not None}  # fmt: skip
        return positions, f"{low:.4g}", f"{high:.4g}"
    texts = sorted({str(v) for v in values if v is not None})
    rank = {text: (k / (len(texts) - 1) if len(texts) > 1 else 0.5) for k, text in enumerate(texts)}
    positions = {i: rank[str(v)] for i, v in enumerate(values) if v is not None}
    return positions, texts[0] if texts else "", texts[-1] if texts else ""


def parallel_svg(
    axes: Sequence[str], labels: Sequence[str], rows: Sequence[Sequence[object]]
) -> str:
    """The SVG text: ``rows[r][a]`` is run ``r``'s value on axis ``a`` (None: missing)."""
    width = SIDE * 2 + WIDTH_PER_AXIS * max(1, len(axes) - 1)
    inner = HEIGHT - TOP - BOTTOM
    xs = [SIDE + WIDTH_PER_AXIS * a for a in range(len(axes))]
    scaled = [_scale([row[a] for row in rows]) for a in range(len(axes))]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {HEIGHT}" '
        f'width="{width}" height="{HEIGHT}" role="img" class="parallel" '
        f'aria-label="Parallel coordinates of {len(rows)} runs over {len(axes)} axes">'
    ]
    for r, label in enumerate(labels):
        segments: list[list[str]] = [[]]
        for a in range(len(axes)):
            position = scaled[a][0].get(r)
            if position is None:
                segments.append([])
                continue
            segments[-1].append(f"{xs[a]:.1f},{TOP + inner * (1 - position):.1f}")
        color = PALETTE[r % len(PALETTE)]
        for points in segments:
            if len(points) >= 2:
                parts.append(
                    f'<polyline class="run" points="{" ".join(points)}" fill="none" '
                    f'stroke="{color}" stroke-width="1.6" opacity="0.85">'
                    f"<title>{escape(label)}</title></polyline>"
                )
            elif len(points) == 1:
                x, y = points[0].split(",")
                parts.append(f'<circle class="run" cx="{x}" cy="{y}" r="3" fill="{color}">'
                             f"<title>{escape(label)}</title></circle>")  # fmt: skip
    for a, axis in enumerate(axes):
        low, high = scaled[a][1], scaled[a][2]
        parts.append(
            f'<line x1="{xs[a]}" y1="{TOP}" x2="{xs[a]}" y2="{TOP + inner}" stroke="#5b6475"/>'
            f'<text x="{xs[a]}" y="{TOP - 22}" text-anchor="middle" font-size="12" '
            f'font-weight="600">{escape(axis[:40])}</text>'
            f'<text x="{xs[a]}" y="{TOP - 8}" text-anchor="middle" font-size="11">{escape(high[:20])}</text>'
            f'<text x="{xs[a]}" y="{TOP + inner + 16}" text-anchor="middle" font-size="11">'
            f"{escape(low[:20])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


__all__ = ["parallel_svg"]
