"""Benchmark ``modelpack predict`` (issue 5's figures), each as a ratio to a baseline run
in the same invocation.

1. one worker vs a hand-written pyarrow + ``model.predict`` loop, on the same parquet
   file (target >= 0.9x);
2. vs ``mlflow models predict`` on the same CSV file (target >= 5x), next to the bound
   on that ratio: MLflow's time over the floor (Python start, imports, model load and
   ``predict`` on rows already in memory, prediction split perfectly over two cores);
3. two workers vs one, on the random-forest model (target >= 1.6x on 2 cores);
4. peak RSS scoring 1x vs 4x the rows (target: at most +20%).

Every run is a fresh process, timed wall-clock from start to exit (imports and model
loading included on both sides). Data is generated in a temporary directory and removed.

    python bench/bench_batch.py                 # 2,000,000 rows, a few minutes
    python bench/bench_batch.py --rows 200000   # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MLFLOW_PYTHON = Path("/opt/mlflow-venv/bin/python")
FEATURES = [f"f{i}" for i in range(8)]

HAND_LOOP = """
import sys
import pyarrow as pa, pyarrow.parquet as pq
import modelpack

model = modelpack.load_model(sys.argv[1], trust=True)
source = pq.ParquetFile(sys.argv[2])
writer = None
for batch in source.iter_batches(batch_size=65536):
    frame = batch.to_pandas()
    out = pa.table({"id": batch.column("id"), "prediction": model.predict(frame)})
    writer = writer or pq.ParquetWriter(sys.argv[3], out.schema)
    writer.write_table(out)
writer.close()
"""

# The least any scorer of this model pays: start Python, import what the model needs,
# load it and predict every row, with the rows already in memory (no file to read or
# write). Prints the seconds spent generating the rows and predicting, to subtract.
FLOOR = """
import json, sys, time
import numpy as np, pandas as pd
import modelpack

model = modelpack.load_model(sys.argv[1], trust=True).get_raw_model()
started = time.perf_counter()
rows = int(sys.argv[2])
x = pd.DataFrame(np.random.default_rng(0).normal(size=(rows, 8)), columns=[f"f{i}" for i in range(8)])
generated = time.perf_counter()
model.predict(x)
print(json.dumps({"generate": generated - started, "predict": time.perf_counter() - generated}))
"""

# Runs a command and prints its wall time and the peak RSS of its process tree's
# largest member (ru_maxrss of waited-for children, in KiB on Linux).
MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
seconds = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"code": code, "seconds": seconds, "rss_mb": rss}))
"""


def measure(argv: list[str], what: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout)
    if result["code"] != 0:
        raise SystemExit(f"{what} failed with exit code {result['code']}")
    print(f"  {what:<42} {result['seconds']:8.2f} s   peak RSS {result['rss_mb']:7.0f} MB")
    return result


def floor(model: Path, rows: int, tmp: Path) -> tuple[float, float]:
    """``(one core, two cores)``: the seconds below which no scorer of ``model`` can go."""
    script = tmp / "floor.py"
    script.write_text(FLOOR)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(script), str(model), str(rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - started
    inside = json.loads(done.stdout)
    one_core = wall - inside["generate"]
    two_cores = one_core - inside["predict"] / 2  # prediction perfectly split, nothing else
    print(f"  {'floor: import + load + predict in memory':<42} {one_core:8.2f} s")
    print(
        f"    (of which predicting {inside['predict']:.2f} s; on two cores at best {two_cores:.2f} s)"
    )
    return one_core, two_cores


def write_data(path: Path, rows: int, csv_path: Path | None = None, seed: int = 0) -> None:
    """``rows`` rows of 8 float features and an id, written in 256k-row chunks."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    chunk = 262_144
    writer = csv_writer = None
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        columns = {"id": pa.array(np.arange(start, start + n, dtype=np.int64))}
        for name in FEATURES:
            columns[name] = pa.array(rng.normal(size=n))
        table = pa.table(columns)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=131_072)
        if csv_path is not None:
            csv_writer = csv_writer or pacsv.CSVWriter(csv_path, table.schema)
            csv_writer.write_table(table)
    assert writer is not None
    writer.close()
    if csv_writer is not None:
        csv_writer.close()


def save_models(directory: Path, trees: int) -> tuple[Path, Path]:
    """A random forest (the issue's RF model) and a linear model, both on FEATURES."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    import modelpack

    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.normal(size=(50_000, len(FEATURES))), columns=FEATURES)
    y = (x["f0"] + x["f1"] * x["f2"] > 0).astype(int)
    forest = RandomForestClassifier(n_estimators=trees, max_depth=12, n_jobs=1, random_state=0)
    # cloudpickle, not skops: MLflow's sklearn loader must read the same directory.
    rf = directory / "rf"
    modelpack.sklearn.save_model(
        forest.fit(x, y), rf, serialization_format="cloudpickle", input_example=x.head(5)
    )
    linear = directory / "linear"
    modelpack.sklearn.save_model(LogisticRegression().fit(x, y), linear, input_example=x.head(5))
    return rf, linear


def mlflow_copy(model: Path) -> Path:
    """The same model directory with MLflow's own pyfunc loader, for ``mlflow models predict``
    (the payload and the ``sklearn`` block are already in MLflow's layout)."""
    import shutil

    import yaml

    target = model.with_name(model.name + "-mlflow")
    if target.exists():
        return target
    shutil.copytree(model, target)
    mlmodel = yaml.safe_load((target / "MLmodel").read_text())
    mlmodel["flavors"]["python_function"]["loader_module"] = "mlflow.sklearn"
    (target / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False))
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    modelpack_cli = [sys.executable, "-I", "-c", "from modelpack.cli import main; main()"]

    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp_name:
        tmp = Path(tmp_name)
        print(f"generating {args.rows:,} rows and training the models in {tmp} ...")
        data, csv = tmp / "data.parquet", tmp / "data.csv"
        write_data(data, args.rows, csv)
        rf, linear = save_models(tmp, args.trees)
        (tmp / "hand.py").write_text(HAND_LOOP)
        results: dict[str, float] = {}

        def predict(model: Path, source: Path, workers: int, what: str) -> float:
            argv = [*modelpack_cli, "predict", "-m", str(model), "-i", str(source)]
            argv += ["-o", str(tmp / "out.parquet"), "-w", str(workers), "-q", "--trust"]
            return measure(argv, what)["seconds"]

        for label, model in (("rf", rf), ("linear", linear)):
            print(f"\n1. vs a hand-written loop ({args.rows:,} rows parquet, {label} model)")
            hand = measure(
                [sys.executable, str(tmp / "hand.py"), str(model), str(data)]
                + [str(tmp / "hand.parquet")],
                "hand loop (pyarrow + model.predict)",
            )["seconds"]
            one = predict(model, data, 1, "modelpack predict -w 1")
            results[f"vs_hand_loop_{label}"] = hand / one
            if label == "rf":
                print("\n3. two workers vs one (same file, RF)")
                two = predict(rf, data, 2, "modelpack predict -w 2")
                results["workers_2_vs_1_rf"] = one / two

        if not args.skip_mlflow and MLFLOW_PYTHON.exists():
            for label, model in (("rf", rf), ("linear", linear)):
                print(f"\n2. vs mlflow models predict (same rows as CSV, {label} model)")
                ours_csv = predict(model, csv, 1, "modelpack predict -w 1 (csv)")
                mlflow_argv = [str(MLFLOW_PYTHON), "-m", "mlflow", "models", "predict"]
                mlflow_argv += ["-m", str(mlflow_copy(model)), "-i", str(csv), "-t", "csv"]
                mlflow_argv += ["-o", str(tmp / "mlflow.json"), "--env-manager", "local"]
                mlflow = measure(mlflow_argv, "mlflow models predict (csv)")["seconds"]
                results[f"vs_mlflow_{label}"] = mlflow / ours_csv
                if label == "rf":
                    ours_two = predict(model, csv, 2, "modelpack predict -w 2 (csv)")
                    results["vs_mlflow_rf_w2"] = mlflow / ours_two
                one_core, two_cores = floor(model, args.rows, tmp)
                results[f"vs_mlflow_{label}_bound"] = mlflow / two_cores
        else:
            print("\n2. skipped: no MLflow at", MLFLOW_PYTHON)

        print("\n4. peak RSS, 1x vs 4x rows (linear model; memory follows the batch)")
        big, big_csv = tmp / "big.parquet", tmp / "big.csv"
        write_data(big, 4 * args.rows, big_csv, seed=2)
        for fmt, small, large in (("parquet", data, big), ("csv", csv, big_csv)):
            rss = [
                measure(
                    [*modelpack_cli, "predict", "-m", str(linear), "-i", str(source)]
                    + ["-o", str(tmp / f"rss-{n}.parquet"), "-q"],
                    f"{n}x: {n * args.rows:,} rows {fmt}",
                )["rss_mb"]
                for n, source in ((1, small), (4, large))
            ]
            results[f"rss_4x_over_1x_{fmt}"] = rss[1] / rss[0]
            large.unlink()

    print("\nratios (targets: vs_hand_loop >= 0.9, vs_mlflow >= 5, workers_2_vs_1 >= 1.6,")
    print("        rss_4x_over_1x_* <= 1.2; above 1 means modelpack is faster)")
    print("  *_bound: MLflow's time over the floor on two cores, the best ratio any scorer")
    print("  that imports scikit-learn and calls its predict could reach on this machine")
    for name, value in results.items():
        print(f"  {name:<20} {value:6.2f}")
    print(f"  load average at the end: {os.getloadavg()[0]:.2f} (other work skews the timings)")
    print(json.dumps({k: round(v, 3) for k, v in results.items()} | {"cpus": os.cpu_count()}))
    missed = [name for name, ok in _verdicts(results).items() if not ok]
    print("missed: " + ", ".join(missed) if missed else "every target met")
    return 1 if missed else 0


def _verdicts(results: dict[str, float]) -> dict[str, bool]:
    """Each measured target: met or not (the *_bound figures are context, not targets)."""
    verdicts = {}
    for name, value in results.items():
        if name.startswith("vs_hand_loop"):
            verdicts[name] = value >= 0.9
        elif name.startswith("vs_mlflow") and not name.endswith("_bound"):
            verdicts[name] = value >= 5
        elif name.startswith("workers_2"):
            verdicts[name] = value >= 1.6
        elif name.startswith("rss_"):
            verdicts[name] = value <= 1.2
    return verdicts


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"(bench took {time.perf_counter() - started:.0f} s)")
    sys.exit(code)
