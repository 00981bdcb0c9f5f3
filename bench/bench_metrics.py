"""Metric logging: 10,000 points into a SQLite store, modelpack vs MLflow, same run.

Two paths, like for like on both sides, each in a fresh process with a fresh
SQLite store in a temporary directory (store creation and imports are not timed):

- per call: ``log_metric(key, value, step=i)`` inside an active run, once per point
  (``mlflow.log_metric`` vs ``modelpack.log_metric``);
- batch: ``Client.log_batch(run_id, metrics=[...])`` in chunks of 1,000 points, the
  most MLflow accepts per call (``MlflowClient.log_batch`` vs ``modelpack.Client.log_batch``).

Each side logs the same points and reads them back to check the count. The figure
is the median over ``--runs`` processes. Target: modelpack at least 10x faster
(ratio = modelpack time / MLflow time <= 0.1) on both paths.

    python bench/bench_metrics.py [--points 10000] [--runs 3]

Exit status: 0 when the target is met, 1 when missed, 2 on error.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from _baseline import BenchError, exit_on_bench_error, mlflow_python, modelpack_python, run_snippet

TARGET = 0.1
CHUNK = 1000

# One measurement, run against either library: only the imports differ, so both
# sides do exactly the same work.
_IMPORTS = {
    "mlflow": "import mlflow as lib\nfrom mlflow import MlflowClient as Client\n"
    "from mlflow.entities import Metric",
    "modelpack": "import modelpack as lib\nfrom modelpack import Client\n"
    "from modelpack.tracking import Metric",
}

_SNIPPET = """
import json, logging, tempfile, time
logging.disable(logging.WARNING)
{imports}
N, CHUNK = {points}, {chunk}
directory = tempfile.mkdtemp()
lib.set_tracking_uri(f"sqlite:///{{directory}}/store.db")
client = Client()
experiment = client.create_experiment("bench")
with lib.start_run(experiment_id=experiment) as run:
    start = time.perf_counter()
    for i in range(N):
        lib.log_metric("loss", i * 0.5, step=i)
    per_call = time.perf_counter() - start
batch_run = client.create_run(experiment).info.run_id
stamp = int(time.time() * 1000)
points = [Metric("loss", i * 0.5, stamp, i) for i in range(N)]
start = time.perf_counter()
for offset in range(0, N, CHUNK):
    client.log_batch(batch_run, metrics=points[offset : offset + CHUNK])
batch = time.perf_counter() - start
assert len(client.get_metric_history(run.info.run_id, "loss")) == N
assert len(client.get_metric_history(batch_run, "loss")) == N
print(json.dumps({{"per_call": per_call, "batch": batch}}))
"""
_MLFLOW = _SNIPPET.replace("{imports}", _IMPORTS["mlflow"])
_MODELPACK = _SNIPPET.replace("{imports}", _IMPORTS["modelpack"])


def _measure(python: str, template: str, points: int, runs: int) -> dict[str, float]:
    code = template.format(points=points, chunk=CHUNK)
    samples = [json.loads(run_snippet(python, code).strip().splitlines()[-1]) for _ in range(runs)]
    return {key: statistics.median(s[key] for s in samples) for key in ("per_call", "batch")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        baseline = _measure(mlflow_python(), _MLFLOW, args.points, args.runs)
        ours = _measure(modelpack_python(), _MODELPACK, args.points, args.runs)
    except BenchError as err:
        return exit_on_bench_error(err)
    print(f"\nlogging {args.points:,} metric points, median of {args.runs} fresh processes")
    print(f"{'path':<10} {'MLflow':>12} {'modelpack':>12} {'ratio':>8} {'speed-up':>9}")
    met = True
    for path in ("per_call", "batch"):
        ratio = ours[path] / baseline[path]
        met = met and ratio <= TARGET
        print(
            f"{path:<10} {baseline[path] * 1000:10.1f}ms {ours[path] * 1000:10.1f}ms "
            f"{ratio:8.3f} {1 / ratio:8.1f}x"
        )
    print(
        f"target: modelpack time <= {TARGET} x MLflow on both paths -> {'MET' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
