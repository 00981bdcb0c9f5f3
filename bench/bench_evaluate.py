"""``modelpack.evaluate`` on a 1M-row parquet test set vs hand-written predict + metrics.

Baseline (same run, fresh processes taking turns): the fitted estimator's ``predict``
and ``predict_proba`` on the in-memory array, then scikit-learn's accuracy, precision,
recall, F1, log loss, ROC AUC, average precision and confusion matrix — the metric set
``evaluate`` reports for a binary classifier. Loading the array is not timed.

modelpack: ``modelpack.evaluate(model_dir, "test.parquet", targets="y")`` — reads the
file in record batches, enforces the signature, scores, computes the metrics, writes
the SVG plots and metrics JSON into a run, all timed.

Memory: peak RSS of a fresh process evaluating 1M and then 4M rows. Streaming means
the input frame (88 bytes a row here) is never held whole; what grows with the rows is
the kept targets, labels and probabilities (32 bytes a row) and the per-row workspace
of the metrics that need every row (ROC AUC, PR AUC, log loss).

Target: modelpack time ≤ 1.5x the baseline. Exit 0 met, 1 missed, 2 setup error.

    python bench/bench_evaluate.py [--rows 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

FEATURES = 10

SETUP = r"""
import sys, numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
import modelpack
root, rows = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
coef = rng.normal(size={features})
def make(n, seed):
    r = np.random.default_rng(seed)
    x = r.normal(size=(n, {features}))
    y = ((x @ coef + r.normal(scale=2.0, size=n)) > 0).astype(np.int64)
    return x, y
x_train, y_train = make(20000, 1)
model = LogisticRegression(max_iter=1000).fit(x_train, y_train)
columns = [f"f{{i}}" for i in range({features})]
modelpack.sklearn.save_model(model, f"{{root}}/model", input_example=pd.DataFrame(x_train[:3], columns=columns))
import pyarrow as pa, pyarrow.parquet as pq
for n in (rows, 4 * rows):
    writer = None
    for part, start in enumerate(range(0, n, 1_000_000)):
        x, y = make(min(1_000_000, n - start), 2 + part)
        table = pa.Table.from_pandas(pd.DataFrame(x, columns=columns).assign(y=y), preserve_index=False)
        writer = writer or pq.ParquetWriter(f"{{root}}/test-{{n}}.parquet", table.schema)
        writer.write_table(table, row_group_size=262144)
        if n == rows and part == 0:
            np.save(f"{{root}}/x.npy", x); np.save(f"{{root}}/y.npy", y)
    writer.close()
"""

BASELINE = r"""
import sys, time, resource, numpy as np
from sklearn import metrics as skm
import modelpack
root = sys.argv[1]
model = modelpack.sklearn.load_model(f"{root}/model")
x, y = np.load(f"{root}/x.npy"), np.load(f"{root}/y.npy")
start = time.perf_counter()
pred = model.predict(x)
proba = model.predict_proba(x)[:, 1]
values = [
    skm.accuracy_score(y, pred), skm.precision_score(y, pred), skm.recall_score(y, pred),
    skm.f1_score(y, pred), skm.log_loss(y, proba), skm.roc_auc_score(y, proba),
    skm.average_precision_score(y, proba), skm.confusion_matrix(y, pred).sum(),
]
elapsed = time.perf_counter() - start
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

OURS = r"""
import sys, time, resource
import modelpack
root, path = sys.argv[1], sys.argv[2]
model = modelpack.load_model(f"{root}/model")
start = time.perf_counter()
result = modelpack.evaluate(model, path, targets="y")
elapsed = time.perf_counter() - start
assert result.rows > 0
print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _run(code: str, *args: str, env: dict[str, str]) -> tuple[float, int]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    seconds, rss_kb = done.stdout.split()[-2:]
    return float(seconds), int(rss_kb) * 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-evaluate-") as tmp:
        env = dict(os.environ, MODELPACK_TRACKING_URI=f"sqlite:///{tmp}/store/modelpack.db")
        try:
            _run(SETUP.format(features=FEATURES) + "\nprint(0, 0)", tmp, str(args.rows), env=env)
        except RuntimeError as exc:
            print(f"setup failed:\n{exc}", file=sys.stderr)
            return 2
        one = str(Path(tmp) / f"test-{args.rows}.parquet")
        four = str(Path(tmp) / f"test-{4 * args.rows}.parquet")
        _run(OURS, tmp, one, env=env)  # warm-up: page cache, .pyc files
        base, ours, base_rss, ours_rss = [], [], [], []
        for _ in range(args.runs):
            seconds, rss = _run(BASELINE, tmp, env=env)
            base.append(seconds)
            base_rss.append(rss)
            seconds, rss = _run(OURS, tmp, one, env=env)
            ours.append(seconds)
            ours_rss.append(rss)
        _, rss_four = _run(OURS, tmp, four, env=env)
    report = {
        "rows": args.rows,
        "baseline_seconds": statistics.median(base),
        "modelpack_seconds": statistics.median(ours),
        "ratio": statistics.median(ours) / statistics.median(base),
        "baseline_peak_rss_mb": statistics.median(base_rss) / 2**20,
        "modelpack_peak_rss_mb": statistics.median(ours_rss) / 2**20,
        "modelpack_peak_rss_mb_4x_rows": rss_four / 2**20,
        "extra_bytes_per_row_at_4x": (rss_four - statistics.median(ours_rss)) / (3 * args.rows),
        "input_bytes_per_row": (FEATURES + 1) * 8,
        "kept_bytes_per_row": 8 + 8 + 16,  # targets, labels, two probabilities
    }
    print(json.dumps(report, indent=2))
    met = report["ratio"] <= 1.5
    print(f"ratio {report['ratio']:.2f} (target <= 1.5): {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
