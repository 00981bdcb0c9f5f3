"""Store backends: metric logging and registration on SQLite and PostgreSQL, vs MLflow.

Same run, same PostgreSQL server (a fresh database per measurement), fresh processes,
the rows taking turns run by run, each starting on a settled machine (the previous
row's database dropped, a checkpoint, the page cache written back):

- ``metrics``: ``log_metric(key, value, step=i)`` inside an active run, ``--points`` times;
- ``register``: ``--versions`` versions of one registered model. modelpack copies,
  verifies and content-addresses a small model directory per version
  (``register_model(dir, name)``); MLflow records metadata only
  (``MlflowClient.create_model_version(name, source, run_id)``) — MLflow does less work.

Rows: modelpack on SQLite and PostgreSQL; MLflow's SQLAlchemy store on both (not with
``--skip-mlflow``); with ``--old-checkout PATH``, also another modelpack checkout (e.g.
the sqlite3 store before SQLAlchemy, SQLite only, or the commit before a change), to
show what a change cost or won. Targets (ratio = modelpack / MLflow, smaller is better): PostgreSQL
<= 0.2 on both tasks; SQLite metrics <= 0.1.

    python bench/bench_store_backends.py [--points 10000] [--versions 100] [--runs 1]
        [--old-checkout /path/to/old/modelpack] [--skip-mlflow]

MLflow comes from ``$MODELPACK_BENCH_MLFLOW_PYTHON`` or the tests' cached venv
(tests/mlflow_venv.py); psycopg2-binary is installed into it when missing.
Exit status: 0 when every target is met, 1 when one is missed, 2 on error.
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
from typing import Any

from _baseline import BenchError, exit_on_bench_error, modelpack_python, run_snippet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.pg_server import PostgresServer  # noqa: E402

_MODEL_DIR = """
import os, pathlib, tempfile, yaml
src = pathlib.Path(tempfile.mkdtemp()) / "model"
src.mkdir()
(src / "model.bin").write_bytes(os.urandom(4096))
(src / "MLmodel").write_text(yaml.safe_dump(dict(flavors=dict(fake=dict()))))
"""

_MODELPACK = (
    """
import json, time
import modelpack
"""
    + _MODEL_DIR
    + """
modelpack.set_tracking_uri({uri!r})
client = modelpack.Client()
experiment = client.create_experiment("bench")
with modelpack.start_run(experiment_id=experiment) as run:
    start = time.perf_counter()
    for i in range({points}):
        modelpack.log_metric("loss", i * 0.5, step=i)
    metrics = time.perf_counter() - start
assert len(client.get_metric_history(run.info.run_id, "loss")) == {points}
start = time.perf_counter()
for _ in range({versions}):
    modelpack.register_model(str(src), "bench")
register = time.perf_counter() - start
assert client.get_model_version("bench", {versions}).version == {versions}
print(json.dumps({{"metrics": metrics, "register": register}}))
"""
)

_MLFLOW = (
    """
import json, logging, time, warnings
logging.disable(logging.WARNING)
warnings.simplefilter("ignore")
import mlflow
from mlflow import MlflowClient
"""
    + _MODEL_DIR
    + """
mlflow.set_tracking_uri({uri!r})
client = MlflowClient()
experiment = client.create_experiment("bench", artifact_location={artifacts!r})
with mlflow.start_run(experiment_id=experiment) as run:
    start = time.perf_counter()
    for i in range({points}):
        mlflow.log_metric("loss", i * 0.5, step=i)
    metrics = time.perf_counter() - start
assert len(client.get_metric_history(run.info.run_id, "loss")) == {points}
client.create_registered_model("bench")
start = time.perf_counter()
for _ in range({versions}):
    client.create_model_version("bench", str(src), run_id=run.info.run_id)
register = time.perf_counter() - start
assert str(client.get_model_version("bench", "{versions}").version) == "{versions}"
print(json.dumps({{"metrics": metrics, "register": register}}))
"""
)


def _mlflow_python() -> str:
    python = os.environ.get("MODELPACK_BENCH_MLFLOW_PYTHON")
    if not python:
        from tests.mlflow_venv import mlflow_python

        python = mlflow_python()
    check = subprocess.run([python, "-c", "import psycopg2"], capture_output=True, check=False)
    if check.returncode != 0:
        subprocess.run(
            [python, "-m", "pip", "install", "-q", "psycopg2-binary"], check=True, timeout=600
        )
    return python


Spec = tuple[str, str, Any, dict[str, str]]  # python, template, uri (or a maker), env


def _measure(
    specs: dict[str, Spec], args: argparse.Namespace, server: PostgresServer
) -> dict[str, dict[str, float]]:
    """Every row ``args.runs`` times, the rows taking turns (load drifts on a shared machine)."""
    samples: dict[str, list[dict[str, float]]] = {label: [] for label in specs}
    for _ in range(args.runs):
        for label, (python, template, uri, env) in specs.items():
            artifacts = tempfile.mkdtemp()
            store_uri = uri() if callable(uri) else uri
            code = template.format(
                uri=store_uri, points=args.points, versions=args.versions, artifacts=artifacts
            )
            # cwd outside the checkout: "python -c" puts the cwd first on sys.path, which
            # would shadow --old-checkout with the modelpack of the checkout it runs from
            out = run_snippet(
                python, code, env={**env, "MODELPACK_ARTIFACT_ROOT": artifacts}, cwd=Path(artifacts)
            )
            samples[label].append(json.loads(out.strip().splitlines()[-1]))
            _settle(server, store_uri)
    return {
        label: {key: statistics.median(s[key] for s in runs) for key in ("metrics", "register")}
        for label, runs in samples.items()
    }


def _settle(server: PostgresServer, store_uri: str) -> None:
    """Leave nothing of one row's writes for the next row to pay for: its database
    dropped (no autovacuum left to run there: MLflow updates a ``latest_metrics`` row per
    point), a PostgreSQL checkpoint, and the page cache written back (10,000 SQLite
    commits leave the disk busy for seconds)."""
    import psycopg

    if store_uri.startswith("postgresql"):
        server.drop_database(store_uri)
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    os.sync()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--old-checkout", type=Path, default=None)
    parser.add_argument(
        "--skip-mlflow",
        action="store_true",
        help="modelpack rows only (with --old-checkout: the before/after of a change)",
    )
    args = parser.parse_args(argv)
    try:
        mlflow = _mlflow_python()
        server = PostgresServer.start()
    except (BenchError, RuntimeError, subprocess.CalledProcessError) as err:
        return exit_on_bench_error(BenchError(str(err)))
    try:

        def sqlite() -> str:
            return f"sqlite:///{tempfile.mkdtemp()}/store.db"

        plain: dict[str, str] = {}
        ours = modelpack_python()
        specs: dict[str, Spec] = {
            "modelpack sqlite": (ours, _MODELPACK, sqlite, plain),
            "modelpack postgresql": (ours, _MODELPACK, server.create_database, plain),
        }
        if not args.skip_mlflow:
            specs["mlflow sqlite"] = (mlflow, _MLFLOW, sqlite, plain)
            specs["mlflow postgresql"] = (
                mlflow,
                _MLFLOW,
                lambda: server.create_database().replace("postgresql://", "postgresql+psycopg2://"),
                plain,
            )
        if args.old_checkout:
            old_env = {"PYTHONPATH": str(args.old_checkout)}
            specs["modelpack sqlite (old checkout)"] = (ours, _MODELPACK, sqlite, old_env)
            if not _sqlite_only(args.old_checkout):
                specs["modelpack postgresql (old checkout)"] = (
                    ours, _MODELPACK, server.create_database, old_env
                )  # fmt: skip
        rows = _measure(specs, args, server)
    except BenchError as err:
        return exit_on_bench_error(err)
    finally:
        server.stop()

    print(f"\n{args.points} metric points, {args.versions} versions; median of {args.runs} run(s)")
    print(f"{'':36}  {'metrics':>10}  {'register':>10}")
    for label, row in rows.items():
        print(f"{label:36}  {row['metrics']:9.3f}s  {row['register']:9.3f}s")
    met = True
    if not args.skip_mlflow:
        met = _print_ratios(rows)
    if args.old_checkout:
        for backend in ("sqlite", "postgresql"):
            if f"modelpack {backend} (old checkout)" not in rows:
                continue
            before = rows[f"modelpack {backend} (old checkout)"]
            now = rows[f"modelpack {backend}"]
            for key in ("metrics", "register"):
                print(
                    f"this checkout / old checkout, {backend} {key}: {now[key] / before[key]:.2f}"
                )
    return 0 if met else 1


def _sqlite_only(checkout: Path) -> bool:
    """A checkout from before the SQLAlchemy store (no PostgreSQL support)."""
    stores = checkout / "modelpack" / "tracking" / "stores"
    return not ((stores / "sql.py").is_file() or (stores / "sql" / "__init__.py").is_file())


def _print_ratios(rows: dict[str, dict[str, float]]) -> bool:
    ratios = {
        "postgresql metrics": rows["modelpack postgresql"]["metrics"]
        / rows["mlflow postgresql"]["metrics"],
        "postgresql register": rows["modelpack postgresql"]["register"]
        / rows["mlflow postgresql"]["register"],
        "sqlite metrics": rows["modelpack sqlite"]["metrics"] / rows["mlflow sqlite"]["metrics"],
        "sqlite register": rows["modelpack sqlite"]["register"] / rows["mlflow sqlite"]["register"],
    }
    targets = {"postgresql metrics": 0.2, "postgresql register": 0.2, "sqlite metrics": 0.1}
    print()
    met = True
    for name, ratio in ratios.items():
        target = targets.get(name)
        verdict = "" if target is None else (" MET" if ratio <= target else " MISSED")
        met = met and (target is None or ratio <= target)
        print(f"modelpack/mlflow {name}: {ratio:.3f}  ({1 / ratio:.1f}x faster){verdict}")
    return met


if __name__ == "__main__":
    sys.exit(main())
