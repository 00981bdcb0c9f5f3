"""search_runs over many runs: modelpack's SQL search vs MLflow's SqlAlchemyStore, SQLite.

The same seeded runs (``--runs-count``, default 100,000: two params, one tag, a metric
with three points and one with one point per run) are written straight into a fresh
modelpack store and a fresh MLflow store (each created first by its own library, so
the schema is the library's), then each library answers the same queries in a fresh
process: one untimed warm-up, then ``--repeat`` timed calls, median. Both must return
the same run ids in the same order. Every process is run ``--runs`` times, taking turns;
the figure is the median.

Two queries use what MLflow's grammar lacks or limits: ``IN`` (MLflow takes it on
``attributes.run_id`` only, so that is the one timed) and ``OR``, which MLflow cannot say:
its side runs the two halves of the disjunction (each with the same order and limit),
merges them, re-sorts by the order key and keeps the first ``limit`` -- what a user
of MLflow would have to write. Those rows are marked ``*``.

    python bench/bench_search.py [--runs-count 100000] [--runs 3] [--repeat 3]

MLflow comes from ``$MODELPACK_BENCH_MLFLOW_PYTHON`` or the tests' cached venv
(tests/mlflow_venv.py). Target: modelpack >= 10x faster on the typical query (a metric
and a param filter, ordered by the metric, 100 results). Exit status: 0 when met, 1 when
missed, 2 on error.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

from _baseline import BenchError, exit_on_bench_error, modelpack_python, run_snippet

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = 10.0
QUERIES = {
    "typical: metric + param filter, order by metric, 100": (
        "metrics.rmse < 0.3 and params.alpha = '0.1'",
        ["metrics.rmse ASC"],
        100,
    ),
    "tag filter, newest first, 100": ("tags.team = 'a'", [], 100),
    "metric filter, order by another metric DESC, 100": (
        "metrics.acc > 0.5",
        ["metrics.rmse DESC"],
        100,
    ),
}
TYPICAL = next(iter(QUERIES))
#: label -> (filter, order_by, max_results, MLflow's halves to merge; empty: the filter)
Query = tuple[str, list[str], int, list[str]]


def _queries(runs: list[dict[str, object]]) -> dict[str, Query]:
    """QUERIES plus an IN and an OR query (the IN list names 200 of the seeded runs)."""
    step = max(1, len(runs) // 200)
    ids = ", ".join(f"'{run['id']}'" for run in runs[::step][:200])
    by_rmse = ["metrics.rmse ASC"]
    alpha = "params.alpha = '0.1'"
    return {
        **{label: (*query, []) for label, query in QUERIES.items()},
        "IN: run_id IN (200 ids) + metric, by metric, 100": (
            f"attributes.run_id IN ({ids}) and metrics.acc > 0.2",
            by_rmse,
            100,
            [],
        ),
        "OR: (metric OR tag) AND param, by metric, 100 *": (
            f"(metrics.rmse < 0.05 OR tags.team = 'a') AND {alpha}",
            by_rmse,
            100,
            [f"metrics.rmse < 0.05 and {alpha}", f"tags.team = 'a' and {alpha}"],
        ),
    }


_SEARCH = """
import json, logging, statistics, time, warnings
logging.disable(logging.WARNING)
warnings.simplefilter("ignore")
{imports}
client = Client({uri!r})
def search(filter_string, order_by, limit):
    return client.search_runs([{experiment!r}], filter_string, order_by=order_by, max_results=limit)

def merged(halves, order_by, limit):
    # the OR query as MLflow users write it: each half, then merge and re-sort
    key, *direction = order_by[0].split()
    metric, sign = key.split(".", 1)[1], -1 if direction == ["DESC"] else 1
    found = {{}}
    for half in halves:
        found.update((run.info.run_id, run) for run in search(half, order_by, limit))
    ordered = sorted(
        found.values(),
        key=lambda r: (sign * r.data.metrics[metric], -r.info.start_time, r.info.run_id),
    )
    return ordered[:limit]

out = {{}}
for label, (filter_string, order_by, limit, halves) in {queries!r}.items():
    if halves and {side!r} == "mlflow":
        call = lambda: merged(halves, order_by, limit)
    else:
        call = lambda: search(filter_string, order_by, limit)
    ids = [r.info.run_id for r in call()]
    times = []
    for _ in range({repeat}):
        start = time.perf_counter()
        found = call()
        times.append(time.perf_counter() - start)
    out[label] = {{"seconds": statistics.median(times), "ids": ids}}
print(json.dumps(out))
"""
_IMPORTS = {
    "modelpack": "from modelpack import Client",
    "mlflow": "from mlflow import MlflowClient as Client",
}


def _mlflow_python() -> str:
    python = os.environ.get("MODELPACK_BENCH_MLFLOW_PYTHON")
    if python:
        return python
    from tests.mlflow_venv import mlflow_python

    return mlflow_python()


def _runs(count: int) -> list[dict[str, object]]:
    rng = random.Random(7)
    base = 1_790_000_000_000
    return [
        {
            "id": f"{rng.getrandbits(128):032x}",
            "start": base + i,
            "alpha": rng.choice(["0.01", "0.1", "1.0"]),
            "depth": str(rng.randint(1, 10)),
            "team": rng.choice("abcd"),
            "rmse": [rng.random() for _ in range(3)],
            "acc": rng.random(),
        }
        for i in range(count)
    ]


def _fill_modelpack(path: Path, runs: list[dict[str, object]]) -> str:
    uri = f"sqlite:///{path}"
    code = f"from modelpack import Client\nprint(Client({uri!r}).create_experiment('bench'))"
    experiment = run_snippet(modelpack_python(), code).strip()
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO runs (run_id, experiment_id, run_name, status, start_time, end_time) "
            "VALUES (?, ?, ?, 'FINISHED', ?, ?)",
            [(r["id"], experiment, f"run-{i}", r["start"], r["start"]) for i, r in enumerate(runs)],
        )
        db.executemany(
            "INSERT INTO params VALUES (?, ?, ?)",
            [(r["id"], k, r[k]) for r in runs for k in ("alpha", "depth")],
        )
        db.executemany(
            "INSERT INTO tags VALUES (?, 'team', ?)", [(r["id"], r["team"]) for r in runs]
        )
        db.executemany(
            "INSERT INTO metrics (run_id, key, value, timestamp, step) VALUES (?, ?, ?, ?, ?)",
            [(r["id"], "rmse", v, r["start"], s) for r in runs for s, v in enumerate(r["rmse"])]  # type: ignore[arg-type]
            + [(r["id"], "acc", r["acc"], r["start"], 0) for r in runs],
        )
    return experiment


def _fill_mlflow(python: str, path: Path, runs: list[dict[str, object]]) -> str:
    uri = f"sqlite:///{path}"
    code = (
        "import logging; logging.disable(logging.WARNING)\n"
        "from mlflow import MlflowClient\n"
        f"print(MlflowClient({uri!r}).create_experiment('bench', "
        f"artifact_location={str(path.parent / 'mlartifacts')!r}))"
    )
    experiment = run_snippet(python, code).strip().splitlines()[-1]
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
            "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
            "artifact_uri, experiment_id) VALUES (?, ?, 'UNKNOWN', '', '', 'bench', "
            "'FINISHED', ?, ?, '', 'active', ?, ?)",
            [
                (r["id"], f"run-{i}", r["start"], r["start"], f"/tmp/a/{r['id']}", experiment)
                for i, r in enumerate(runs)
            ],
        )
        db.executemany(
            "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
            [(k, r[k], r["id"]) for r in runs for k in ("alpha", "depth")],
        )
        db.executemany(
            "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
            [("team", r["team"], r["id"]) for r in runs]
            + [("mlflow.runName", f"run-{i}", r["id"]) for i, r in enumerate(runs)],
        )
        db.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES (?, ?, ?, ?, ?, 0)",
            [("rmse", v, r["start"], r["id"], s) for r in runs for s, v in enumerate(r["rmse"])]  # type: ignore[arg-type]
            + [("acc", r["acc"], r["start"], r["id"], 0) for r in runs],
        )
        db.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
            "VALUES (?, ?, ?, ?, 0, ?)",
            [("rmse", r["rmse"][2], r["start"], 2, r["id"]) for r in runs]  # type: ignore[index]
            + [("acc", r["acc"], r["start"], 0, r["id"]) for r in runs],
        )
    return experiment


def _search(
    python: str, side: str, uri: str, experiment: str, repeat: int, queries: dict[str, Query]
) -> dict[str, dict]:
    code = _SEARCH.format(
        imports=_IMPORTS[side],
        uri=uri,
        queries=queries,
        experiment=experiment,
        repeat=repeat,
        side=side,
    )
    return json.loads(run_snippet(python, code).strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-count", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--queries", type=int, default=0, help="time only the first N queries")
    args = parser.parse_args(argv)
    try:
        mlflow = _mlflow_python()
        root = Path(tempfile.mkdtemp(prefix="bench-search-"))
        runs = _runs(args.runs_count)
        queries = _queries(runs)
        queries = dict(list(queries.items())[: args.queries or len(queries)])
        ours = root / "modelpack" / "store.db"
        ours.parent.mkdir()
        theirs = root / "mlflow" / "mlflow.db"
        theirs.parent.mkdir()
        sides = {
            "modelpack": (modelpack_python(), f"sqlite:///{ours}", _fill_modelpack(ours, runs)),
            "mlflow": (mlflow, f"sqlite:///{theirs}", _fill_mlflow(mlflow, theirs, runs)),
        }
        samples: dict[str, dict[str, list[float]]] = {
            side: {q: [] for q in queries} for side in sides
        }
        for turn in range(args.runs):
            answers = {
                side: _search(python, side, uri, experiment, args.repeat, queries)
                for side, (python, uri, experiment) in sides.items()
            }
            for label in queries:
                if answers["modelpack"][label]["ids"] != answers["mlflow"][label]["ids"]:
                    raise BenchError(f"{label}: modelpack and MLflow found different runs")
                for side in sides:
                    samples[side][label].append(answers[side][label]["seconds"])
                times = {side: f"{answers[side][label]['seconds']:.3f}s" for side in sides}
                print(f"turn {turn + 1}: {label}: {times}", flush=True)
    except BenchError as err:
        return exit_on_bench_error(err)
    print(f"\nsearch_runs over {args.runs_count} runs, SQLite; median of {args.runs} processes")
    print(f"{'query':55}  {'MLflow':>10}  {'modelpack':>10}  {'speed-up':>8}")
    print("(* MLflow has no OR: its time is the two halves searched, merged and re-sorted)")
    ratios = {}
    for label in queries:
        theirs_s = statistics.median(samples["mlflow"][label])
        ours_s = statistics.median(samples["modelpack"][label])
        ratios[label] = theirs_s / ours_s
        print(
            f"{label:55}  {theirs_s * 1000:8.1f}ms  {ours_s * 1000:8.1f}ms  {ratios[label]:7.1f}x"
        )
    met = ratios[TYPICAL] >= TARGET
    print(f"\ntarget >= {TARGET:.0f}x on the typical query: {'MET' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
