"""Tracking servers: ``modelpack server`` vs ``mlflow server``, MLflow's own client driving both.

Both servers run on 127.0.0.1 with one worker each, over their own SQLite store that
holds the same ``--runs-count`` seeded runs (default 10,000; written straight into each
library's own schema, see bench_search.py). In each of ``--turns`` turns a fresh
MLflow-client process runs against each server in turn:

- ``log_batch``: ``MlflowClient.log_batch`` of 10,000 metric points into a new run
  (the client splits it into requests of 1,000, MLflow's limit), read back to check;
- ``search_runs``: ``MlflowClient.search_runs`` with a metric and a param filter, ordered
  by the metric, 100 results (one warm-up, then the median of ``--repeat``); both
  servers must answer the same run ids;
- ``request``: ``MlflowClient.get_experiment`` (one small authenticated-or-not request),
  median per call over ``--calls``; the same against a third server, modelpack with
  ``--auth`` and an API token in ``MLFLOW_TRACKING_TOKEN``: the difference is the cost
  of authentication per request (bench_server_auth.py times the check alone, in-process).

Figures are medians over the turns. Targets: log_batch >= 5x, search_runs >= 10x,
auth overhead <= 1 ms per request.

    python bench/bench_server.py [--runs-count 10000] [--turns 3] [--repeat 3] [--calls 200]

MLflow comes from ``$MODELPACK_BENCH_MLFLOW_PYTHON`` or the tests' cached venv.
Exit status: 0 when every target is met, 1 when one is missed, 2 on error.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _baseline import BenchError, exit_on_bench_error, modelpack_python, run_snippet
from bench_search import _fill_mlflow, _fill_modelpack, _mlflow_python, _runs

FILTER = "metrics.rmse < 0.3 and params.alpha = '0.1'"
ORDER = ["metrics.rmse ASC"]

_CLIENT = """
import json, logging, statistics, time, warnings
logging.disable(logging.WARNING)
warnings.simplefilter("ignore")
from mlflow import MlflowClient
from mlflow.entities import Metric
client = MlflowClient({url!r})
out = {{}}
if {full!r}:
    run_id = client.create_run({experiment!r}).info.run_id
    stamp = int(time.time() * 1000)
    points = [Metric("loss", i * 0.5, stamp, i) for i in range(10_000)]
    start = time.perf_counter()
    client.log_batch(run_id, metrics=points)
    out["log_batch"] = time.perf_counter() - start
    assert len(client.get_metric_history(run_id, "loss")) == 10_000
    search = lambda: client.search_runs(
        [{experiment!r}], {filter!r}, order_by={order!r}, max_results=100
    )
    out["ids"] = [r.info.run_id for r in search()]
    times = []
    for _ in range({repeat}):
        start = time.perf_counter()
        search()
        times.append(time.perf_counter() - start)
    out["search_runs"] = statistics.median(times)
client.get_experiment({experiment!r})
times = []
for _ in range({calls}):
    start = time.perf_counter()
    client.get_experiment({experiment!r})
    times.append(time.perf_counter() - start)
out["request"] = statistics.median(times)
print(json.dumps(out))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(argv: list[str], port: int, log: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise BenchError(f"{argv[:4]} exited {proc.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError(f"{argv[:4]} not ready after 120 s; see {log}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _drive(mlflow: str, url: str, experiment: str, args: argparse.Namespace, **env: str) -> dict:
    code = _CLIENT.format(
        url=url,
        experiment=experiment,
        filter=FILTER,
        order=ORDER,
        repeat=args.repeat,
        calls=args.calls,
        full=not env,
    )
    return json.loads(run_snippet(mlflow, code, env=env).strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-count", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    samples: dict[str, dict[str, list[float]]] = {"modelpack": {}, "mlflow": {}, "auth": {}}
    try:
        mlflow = _mlflow_python()
        mlflow_bin = str(Path(mlflow).parent / "mlflow")
        root = Path(tempfile.mkdtemp(prefix="bench-server-"))
        runs = _runs(args.runs_count)
        (root / "modelpack").mkdir()
        (root / "mlflow").mkdir()
        ours = root / "modelpack" / "store.db"
        theirs = root / "mlflow" / "mlflow.db"
        experiments = {
            "modelpack": _fill_modelpack(ours, runs),
            "mlflow": _fill_mlflow(mlflow, theirs, runs),
        }
        auth_db = root / "auth.db"
        token = run_snippet(
            modelpack_python(),
            "from modelpack.server.auth import AuthStore\n"
            f"store = AuthStore({str(auth_db)!r})\n"
            "store.create_user('bench', 'bench-password-1', 'EDIT')\n"
            "print(store.create_token('bench'))",
        ).strip()
        mp_argv = [modelpack_python(), "-m", "modelpack", "server", "--backend-store-uri",
                   f"sqlite:///{ours}", "--host", "127.0.0.1", "--workers", "1"]  # fmt: skip
        ml_port, mp_port, auth_port = _free_port(), _free_port(), _free_port()
        ml_argv = [mlflow_bin, "server", "--backend-store-uri", f"sqlite:///{theirs}",
                   "--default-artifact-root", str(root / "mlflow" / "artifacts"),
                   "--host", "127.0.0.1", "--port", str(ml_port), "--workers", "1"]  # fmt: skip
        auth_argv = [*mp_argv, "--port", str(auth_port), "--auth", "--auth-db", str(auth_db)]
        with (
            _server(ml_argv, ml_port, root / "mlflow.log") as ml_url,
            _server([*mp_argv, "--port", str(mp_port)], mp_port, root / "modelpack.log") as mp_url,
            _server(auth_argv, auth_port, root / "auth.log") as auth_url,
        ):
            for _ in range(args.turns):
                found = {}
                for side, url in (("mlflow", ml_url), ("modelpack", mp_url)):
                    answer = _drive(mlflow, url, experiments[side], args)
                    found[side] = answer.pop("ids")
                    for key, value in answer.items():
                        samples[side].setdefault(key, []).append(value)
                if found["mlflow"] != found["modelpack"]:
                    raise BenchError("search_runs: the two servers answered different runs")
                answer = _drive(
                    mlflow, auth_url, experiments["modelpack"], args, MLFLOW_TRACKING_TOKEN=token
                )
                samples["auth"].setdefault("request", []).append(answer["request"])
    except (BenchError, OSError, subprocess.CalledProcessError) as err:
        return exit_on_bench_error(BenchError(str(err)))
    med = {side: {k: statistics.median(v) for k, v in s.items()} for side, s in samples.items()}
    print(f"\nMLflow client vs each server, SQLite, 1 worker; median of {args.turns} turns")
    print(f"{'':40}  {'mlflow server':>14}  {'modelpack server':>16}  {'speed-up':>8}")
    met = True
    for key, label, target in (
        ("log_batch", "log_batch, 10,000 metrics", 5.0),
        ("search_runs", f"search_runs over {args.runs_count} runs, 100", 10.0),
        ("request", "get_experiment, per request", None),
    ):
        ratio = med["mlflow"][key] / med["modelpack"][key]
        verdict = "" if target is None else (" MET" if ratio >= target else " MISSED")
        met = met and (target is None or ratio >= target)
        print(
            f"{label:40}  {med['mlflow'][key] * 1000:12.2f}ms  "
            f"{med['modelpack'][key] * 1000:14.2f}ms  {ratio:7.1f}x{verdict}"
        )
    overhead = (med["auth"]["request"] - med["modelpack"]["request"]) * 1000
    print(
        f"modelpack with --auth and a token: {med['auth']['request'] * 1000:.2f} ms per request, "
        f"{overhead:+.3f} ms over no auth (target <= 1 ms):"
        f"{' MET' if overhead <= 1.0 else ' MISSED'}"
    )
    met = met and overhead <= 1.0
    return 0 if met else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
