"""``Client.get_metric_points``: the history of a metric as plain tuples, for charts."""

from __future__ import annotations

import math

from modelpack.tracking import Client
from modelpack.tracking.entities import Metric


def test_points_are_the_history_without_objects(any_tracking_uri: str) -> None:
    client = Client(any_tracking_uri)
    run_id = client.create_run(client.create_experiment("points")).info.run_id
    points = [Metric("loss", 1.0 / (i + 1), 1_000 + i, i) for i in range(50)]
    points[7] = Metric("loss", math.nan, 1_007, 7)
    client.log_batch(run_id, metrics=[*points, Metric("acc", 0.5, 1, 0)])

    found = client.get_metric_points(run_id, "loss")
    history = client.get_metric_history(run_id, "loss")
    assert len(found) == len(history) == 50
    assert [(t, s) for _, t, s in found] == [(m.timestamp, m.step) for m in history]
    assert math.isnan(found[7][0])
    assert [v for v, _, _ in found if not math.isnan(v)] == [
        m.value for m in history if not math.isnan(m.value)
    ]
    assert client.get_metric_points(run_id, "missing") == []
