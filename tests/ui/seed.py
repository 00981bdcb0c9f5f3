"""A small store for the UI tests: an experiment of 30 runs, one run with a long curve,
artifacts of every previewable kind (and a link that points outside), and a registered
sklearn model with two versions."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from modelpack import Client
from modelpack.tracking import Metric

LONG_POINTS = 20_000
SPIKE_STEP = 12_345


@dataclass(frozen=True)
class Seeded:
    """Ids and names in the seeded store."""

    store_uri: str
    experiment_id: str
    run_ids: list[str]  # r00 .. r29
    long_run_id: str
    model_name: str


def seed_store(root: Path) -> Seeded:
    import pandas as pd
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import modelpack

    store_uri = f"sqlite:///{root / 'store.db'}"
    client = Client(store_uri)
    experiment_id = client.create_experiment("ui-demo")
    run_ids = []
    for i in range(30):
        run = client.create_run(experiment_id, run_name=f"r{i:02d}")
        metrics = [Metric("loss", 10.0 - i / 10 + s, 1_700_000_000_000 + s, s) for s in (2, 1, 0)]
        metrics.append(Metric("acc", i / 30, 1_700_000_000_000, 0))
        client.log_batch(
            run.info.run_id, metrics, params={"alpha": str(i % 5), "depth": str(i % 3)},
            tags={"team": "blue" if i % 2 else "red"},
        )  # fmt: skip
        client.set_terminated(run.info.run_id)
        run_ids.append(run.info.run_id)

    long_run = client.create_run(experiment_id, run_name="long-curve")
    long_id = long_run.info.run_id
    points = [
        Metric("curve", 50.0 if s == SPIKE_STEP else math.sin(s / 700), 1_700_000_000_000 + s, s)
        for s in range(LONG_POINTS)
    ]
    client.log_batch(long_id, points, params={"alpha": "9"})
    client.log_batch(long_id, [Metric("other", 1.0, 1_700_000_000_000, 0)])
    client.log_text(long_id, "line one\n<script>alert(1)</script>\n", "notes/readme.txt")
    client.log_text(long_id, "x" * 200_000, "big.txt")
    client.log_dict(long_id, {"lr": 0.1, "layers": [1, 2]}, "config.json")
    client.log_dict(long_id, {"lr": 0.1}, "config.yaml")
    frame = pd.DataFrame({"a": range(100), "b": [f"v{i}" for i in range(100)]})
    frame.to_csv(root / "table.csv", index=False)
    frame.to_parquet(root / "table.parquet")
    client.log_artifact(long_id, root / "table.csv")
    client.log_artifact(long_id, root / "table.parquet")
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
        b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff"
        b"\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    (root / "dot.png").write_bytes(png)
    client.log_artifact(long_id, root / "dot.png", "plots")
    artifact_root = Path(client.download_artifacts(long_id, ""))
    os.symlink("/etc/passwd", artifact_root / "escape.txt")  # a hostile link

    x, y = load_iris(return_X_y=True, as_frame=True)
    model_dir = root / "iris-model"
    modelpack.sklearn.save_model(
        LogisticRegression(max_iter=300).fit(x, y), model_dir, input_example=x.head(2)
    )
    client.log_artifacts(long_id, model_dir, "model")
    client.set_terminated(long_id)
    client.create_registered_model("iris", description="the iris classifier")
    client.create_model_version("iris", model_dir, run_id=long_id)
    client.create_model_version("iris", model_dir, run_id=long_id)
    return Seeded(store_uri, experiment_id, run_ids, long_id, "iris")
