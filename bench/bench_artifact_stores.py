"""Artifact stores: S3 vs a local directory for logging, registering and loading a model.

Same run, same machine, fresh processes; the S3 endpoint is ``moto_server`` on
loopback (tests/s3_server.py), so the figures are the S3 protocol's cost (HTTP,
signing, multipart, the verified download cache), not a network's. The model is a
scikit-learn ``KNeighborsClassifier`` fitted on ``--rows`` x 40 doubles (it keeps its
training data: ~48 MB at the default 150,000 rows), saved with skops.

- ``log+register``: ``modelpack.sklearn.log_model(..., registered_model_name=...)``
  (save, publish into the run, snapshot, digest, publish the blob, the row);
- ``load cold``: ``modelpack.load_model("models:/knn/<v>")`` in a new process with an
  empty cache (S3: download, verify, rename into the cache, then load);
- ``load warm``: the same with the cache filled (S3: verify the cached copy, load).

Fitting and importing (modelpack, scikit-learn) are not timed. Ratios are S3 / local (smaller is better); no
target: the figure says what a team pays for a shared bucket.

    python bench/bench_artifact_stores.py [--rows 150000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from _baseline import BenchError, exit_on_bench_error, modelpack_python, run_snippet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.s3_server import MotoServer  # noqa: E402

_LOG = """
import json, time
import numpy as np
import modelpack, modelpack.sklearn
from sklearn.neighbors import KNeighborsClassifier
rng = np.random.default_rng(0)
X = rng.normal(size=({rows}, 40))
clf = KNeighborsClassifier().fit(X, (X[:, 0] > 0).astype(int))
with modelpack.start_run():
    start = time.perf_counter()
    info = modelpack.sklearn.log_model(clf, name="model", registered_model_name="knn")
    took = time.perf_counter() - start
print(json.dumps({{"seconds": took, "version": info.registered_model_version}}))
"""

_LOAD = """
import json, time
import numpy as np
import modelpack, modelpack.sklearn, sklearn.neighbors  # imports are not what is timed
start = time.perf_counter()
model = modelpack.load_model("models:/knn/{version}")
took = time.perf_counter() - start
model.predict(np.zeros((1, 40)))
print(json.dumps({{"seconds": took}}))
"""


def _measure(env: dict[str, str], rows: int, runs: int, work: Path) -> dict[str, list[float]]:
    python = modelpack_python()
    found: dict[str, list[float]] = {"log+register": [], "load cold": [], "load warm": []}
    for run in range(runs + 1):  # the first run is an untimed warm-up
        logged = json.loads(run_snippet(python, _LOG.format(rows=rows), env=env))
        cache = work / f"cache-{run}"
        load_env = {**env, "MODELPACK_CACHE_DIR": str(cache)}
        load = _LOAD.format(version=logged["version"])
        cold = json.loads(run_snippet(python, load, env=load_env))
        warm = json.loads(run_snippet(python, load, env=load_env))
        if run:
            found["log+register"].append(logged["seconds"])
            found["load cold"].append(cold["seconds"])
            found["load warm"].append(warm["seconds"])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="modelpack-bench-artifacts-"))
    server = MotoServer.start()
    try:
        bucket = server.create_bucket()
        local_env = {
            "MODELPACK_TRACKING_URI": f"sqlite:///{work}/local/modelpack.db",
            "MODELPACK_ARTIFACT_ROOT": str(work / "local" / "artifacts"),
        }
        s3_env = {
            **server.environ(),
            "MODELPACK_TRACKING_URI": f"sqlite:///{work}/s3/modelpack.db",
            "MODELPACK_ARTIFACT_ROOT": f"s3://{bucket}/bench",
        }
        local = _measure(local_env, args.rows, args.runs, work / "local")
        remote = _measure(s3_env, args.rows, args.runs, work / "s3")
    except BenchError as err:
        return exit_on_bench_error(err)
    finally:
        server.stop()
    size = sum(p.stat().st_size for p in (work / "local" / "artifacts" / "models").rglob("*"))
    print(f"model: {args.rows} x 40 KNN, {size / 2**20 / (args.runs + 1):.1f} MB per version")
    print(f"{'':14}{'local':>12}{'S3 (moto)':>12}{'S3/local':>10}")
    for task in local:
        a, b = statistics.median(local[task]), statistics.median(remote[task])
        print(f"{task:14}{a * 1000:10.0f}ms{b * 1000:10.0f}ms{b / a:9.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
