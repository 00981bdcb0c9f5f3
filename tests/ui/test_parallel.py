"""The parallel coordinates SVG: one line per run, labels escaped, gaps for missing values."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from modelpack.ui.parallel import parallel_svg

SVG = "{http://www.w3.org/2000/svg}"


def test_one_polyline_per_run_through_every_axis() -> None:
    svg = parallel_svg(
        ["params.alpha", "params.solver", "metrics.loss"],
        ["a", "b", "c"],
        [["0.1", "lbfgs", 0.5], ["0.2", "saga", 0.25], ["0.3", "lbfgs", 0.75]],
    )
    tree = ET.fromstring(svg)  # well-formed XML
    lines = tree.findall(f"{SVG}polyline")
    assert len(lines) == 3
    assert all(len(line.get("points", "").split()) == 3 for line in lines)
    # the run with the highest loss is highest on the last axis (smallest y)
    last_y = [float(line.get("points", "").split()[-1].split(",")[1]) for line in lines]
    assert last_y.index(min(last_y)) == 2


def test_labels_and_axis_names_are_escaped() -> None:
    svg = parallel_svg(["<script>x</script>", "m"], ["<img src=x onerror=1>"], [["<b>", 1.0]])
    assert "<script>" not in svg and "<img" not in svg and "<b>" not in svg
    ET.fromstring(svg)


def test_a_missing_value_breaks_the_line() -> None:
    svg = parallel_svg(["a", "b", "c", "d"], ["r"], [[1.0, 2.0, None, 3.0]])
    tree = ET.fromstring(svg)
    assert len(tree.findall(f"{SVG}polyline")) == 1  # a-b; d alone is a dot
    assert len(tree.findall(f"{SVG}circle")) == 1
    assert not re.search(r"nan|inf", svg, re.I)
