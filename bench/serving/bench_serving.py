"""HTTP scoring throughput: ``modelpack serve`` vs ``mlflow models serve`` vs bare starlette.

Both servers serve the *same* model directories, saved by MLflow itself
(``mlflow.sklearn.save_model``, cloudpickle; modelpack serves them with ``--trust``):
iris LogisticRegression fitted on named columns, and a RandomForest (100 trees, 20
features). A bare starlette endpoint that reads the body and returns a constant, on
the same uvicorn stack, is the ceiling. wrk drives every scenario in one run, one
server at a time, and ratios are taken within the run. For the 1-row iris scenarios
modelpack and bare starlette take turns ``--repeat`` times and each reports its median.

    python bench/serving/bench_serving.py [--duration 10] [--workers 1] [--repeat 3]

Needs ``wrk`` (``apt-get install -y wrk``) and the MLflow venv (bench/README.md;
``MODELPACK_BENCH_MLFLOW_PYTHON`` overrides its path). Exit status: 0 when every
target is met, 1 when one is missed, 2 on a setup error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

MLFLOW_PYTHON = os.environ.get("MODELPACK_BENCH_MLFLOW_PYTHON", "/opt/mlflow-venv/bin/python")
HERE = Path(__file__).resolve().parent

TRAIN = r"""
import sys, warnings
warnings.simplefilter("ignore")
import mlflow.sklearn, numpy as np, pandas as pd
from mlflow.models import infer_signature
from sklearn.datasets import load_iris, make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
out = sys.argv[1]
x, y = load_iris(return_X_y=True, as_frame=True)
x.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
lr = LogisticRegression(max_iter=500).fit(x, y)
mlflow.sklearn.save_model(lr, out + "/iris", signature=infer_signature(x, lr.predict(x)),
                         serialization_format="cloudpickle")
xs, ys = make_classification(n_samples=2000, n_features=20, random_state=0)
xf = pd.DataFrame(xs, columns=[f"f{i}" for i in range(20)])
rf = RandomForestClassifier(n_estimators=100, random_state=0).fit(xf, ys)
mlflow.sklearn.save_model(rf, out + "/rf", signature=infer_signature(xf, rf.predict(xf)),
                         serialization_format="cloudpickle")
xf.head(100).to_json(out + "/rf_rows.json", orient="split", index=False)
x.sample(100, random_state=0).to_json(out + "/iris_rows.json", orient="split", index=False)
"""

BARE = r"""
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
async def invocations(request):
    await request.body()
    return Response(b'{"predictions":[0]}', media_type="application/json")
async def ping(request):
    return Response("\n", media_type="application/json")
app = Starlette(routes=[Route("/invocations", invocations, methods=["POST"]), Route("/ping", ping)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
            log_level="warning", access_log=False)
"""


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """(total, largest process) RSS in MB of ``pid`` and its descendants, from /proc."""
    sizes = []
    for p in _tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        if match:
            sizes.append(int(match.group(1)) / 1024)
    return sum(sizes), max(sizes, default=0.0)


def tree_pss_mb(pid: int) -> float:
    """Proportional set size in MB of ``pid`` and its descendants: shared pages counted once."""
    total = 0.0
    for p in _tree(pid):
        try:
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        match = re.search(r"^Pss:\s+(\d+) kB", rollup, re.M)
        if match:
            total += int(match.group(1)) / 1024
    return total


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


class Server:
    def __init__(
        self, name: str, command: list[str], port: int, env: dict[str, str] | None = None
    ) -> None:
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)
        start = time.perf_counter()
        self.proc = subprocess.Popen(
            command,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        self.ready_s = self._wait(start)

    def _wait(self, start: float, timeout: float = 120) -> float:
        while time.perf_counter() - start < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} exited: see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - start
            except OSError:
                pass
            time.sleep(0.02)
        raise SystemExit(f"{self.name} not ready after {timeout} s: see {self.log.name}")

    def stop(self) -> None:
        # the whole session: mlflow's CLI runs its server in a child process
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        except ProcessLookupError:
            pass


def ready_medians(
    commands: dict[str, tuple[list[str], dict[str, str] | None]], turns: int
) -> dict[str, float]:
    """Seconds from start to the first 200 on /ping: each command started ``turns`` times,
    taking turns, median of each.

    One start is a noisy sample, and the first server of a run also pays a cold page
    cache for its libraries; started in turns, every side gets the same warm cache and
    the same share of the machine's noise.
    """
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(turns):
        for name, (command, env) in commands.items():
            port = free_port()
            server = Server(name, [*command, str(port)], port, env=env)
            samples[name].append(server.ready_s)
            server.stop()
    return {name: statistics.median(values) for name, values in samples.items()}


def wrk(url: str, body: str, connections: int, duration: int, workdir: Path) -> Result:
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body)}\n"
    )
    threads = min(2, connections)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(script),
            url + "/invocations",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(pct: str) -> float:
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if not match:
            return float("nan")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return float(match.group(1)) * scale

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    errors += sum(map(int, sockets.groups())) if sockets else 0
    return Result(rps, latency("50"), latency("99"), errors)


def body_rows(path: Path, n: int) -> str:
    split = json.loads(path.read_text())
    return json.dumps({"dataframe_split": {"columns": split["columns"], "data": split["data"][:n]}})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=1, help="modelpack workers")
    parser.add_argument(
        "--repeat", type=int, default=3, help="turns of modelpack vs bare starlette (median)"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    if not Path(MLFLOW_PYTHON).is_file():
        print(f"{MLFLOW_PYTHON}: no MLflow venv (see bench/README.md)", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    subprocess.run([MLFLOW_PYTHON, "-c", TRAIN, str(work)], check=True)
    mp = [sys.executable, "-c", "from modelpack.cli import main; main()", "serve", "--trust"]
    mlflow_cli = [MLFLOW_PYTHON, "-m", "mlflow", "models", "serve", "--env-manager", "local"]
    env_note = f"modelpack workers={args.workers}; mlflow workers=1 (its default)"
    servers: dict[str, Server] = {}
    try:
        for model in ("iris", "rf"):
            port = free_port()
            servers[f"modelpack-{model}"] = Server(
                f"modelpack-{model}",
                [*mp, "-m", str(work / model), "--port", str(port), "--workers", str(args.workers)],
                port,
            )
            port = free_port()
            servers[f"mlflow-{model}"] = Server(
                f"mlflow-{model}",
                [*mlflow_cli, "-m", str(work / model), "-p", str(port), "-h", "127.0.0.1"],
                port,
                # mlflow execs `uvicorn` from PATH: it must be the venv's
                env={"PATH": f"{Path(MLFLOW_PYTHON).parent}:{os.environ.get('PATH', '')}"},
            )
        port = free_port()
        servers["bare"] = Server("bare", [sys.executable, "-c", BARE, str(port)], port)

        iris1 = body_rows(work / "iris_rows.json", 1)
        iris100 = body_rows(work / "iris_rows.json", 100)
        rf1 = body_rows(work / "rf_rows.json", 1)
        scenarios = [
            ("iris LR 1-row, 1 conn", "iris", iris1, 1),
            ("iris LR 1-row, 16 conn", "iris", iris1, 16),
            ("RF 1-row, 16 conn", "rf", rf1, 16),
            ("iris LR 100-row, 16 conn", "iris", iris100, 16),
        ]
        results: dict[tuple[str, str], Result] = {}
        for label, model, body, conns in scenarios:
            results[(label, "mlflow")] = wrk(
                servers[f"mlflow-{model}"].url, body, conns, args.duration, work
            )
            if model == "iris" and "1-row" in label:
                # modelpack and bare starlette taking turns, median of each: the ratio
                # then compares the two under the same share of the machine's noise
                turns: dict[str, list[Result]] = {"modelpack": [], "bare": []}
                for _ in range(args.repeat):
                    for side, server in (
                        ("modelpack", servers["modelpack-iris"]),
                        ("bare", servers["bare"]),
                    ):
                        turns[side].append(wrk(server.url, body, conns, args.duration, work))
                for side, runs in turns.items():
                    results[(label, side)] = sorted(runs, key=lambda r: r.rps)[len(runs) // 2]
            else:
                results[(label, "modelpack")] = wrk(
                    servers[f"modelpack-{model}"].url, body, conns, args.duration, work
                )

        print(f"\n{env_note}; wrk {args.duration} s per run; {os.cpu_count()} cores\n")
        print(
            f"{'scenario':28} {'server':10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
        )
        for (label, side), r in results.items():
            print(
                f"{label:28} {side:10} {r.rps:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.errors:7d}"
            )

        def ratio(label: str, a: str, b: str) -> float:
            return results[(label, a)].rps / results[(label, b)].rps

        i1, i16, rf16, i100 = (s[0] for s in scenarios)
        p99 = results[(i16, "mlflow")].p99_ms / results[(i16, "modelpack")].p99_ms
        # (what, measured ratio, target; 0 = informative only)
        checks: list[tuple[str, float, float]] = [
            ("iris 1-row 16c throughput vs mlflow", ratio(i16, "modelpack", "mlflow"), 5),
            ("iris 1-row 16c p99: mlflow / modelpack", p99, 5),
            ("RF 1-row 16c throughput vs mlflow", ratio(rf16, "modelpack", "mlflow"), 10),
            ("iris 100-row 16c throughput vs mlflow", ratio(i100, "modelpack", "mlflow"), 3),
            ("iris 1-row 16c vs bare starlette", ratio(i16, "modelpack", "bare"), 0.6),
            ("iris 1-row 1c throughput vs mlflow", ratio(i1, "modelpack", "mlflow"), 0),
        ]

        rss = {name: tree_rss_mb(s.proc.pid) for name, s in servers.items()}
        print(f"\n{'server':16} {'first start s':>13} {'RSS total MB':>13} {'largest proc MB':>16}")
        for name, server in servers.items():
            total, largest = rss[name]
            print(f"{name:16} {server.ready_s:13.2f} {total:13.0f} {largest:16.0f}")
        # memory per worker with several workers: modelpack forks after loading (pages
        # shared copy-on-write), mlflow's uvicorn workers each import and load again
        for server in servers.values():
            server.stop()
        n = max(2, args.workers)
        multi: dict[str, Server] = {}
        port = free_port()
        multi["modelpack"] = servers["modelpack-multi"] = Server(
            "modelpack-iris-multi",
            [*mp, "-m", str(work / "iris"), "--port", str(port), "--workers", str(n)],
            port,
        )
        port = free_port()
        multi["mlflow"] = servers["mlflow-multi"] = Server(
            "mlflow-iris-multi",
            [
                *mlflow_cli,
                "-m",
                str(work / "iris"),
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "-w",
                str(n),
            ],
            port,
            env={"PATH": f"{Path(MLFLOW_PYTHON).parent}:{os.environ.get('PATH', '')}"},
        )
        for server in multi.values():
            for _ in range(50):  # touch every worker's model
                urllib.request.urlopen(
                    urllib.request.Request(
                        server.url + "/invocations",
                        data=iris1.encode(),
                        headers={"Content-Type": "application/json"},
                    )
                ).read()
        pss = {side: tree_pss_mb(server.proc.pid) / n for side, server in multi.items()}
        for server in multi.values():
            server.stop()
        print(f"\nmemory per worker at {n} workers (PSS of the whole server / {n}):")
        for side, value in pss.items():
            print(f"  {side:10} {value:7.0f} MB")
        checks.append(
            (
                "iris 1 worker, RSS of server: mlflow / ours",
                rss["mlflow-iris"][0] / rss["modelpack-iris"][0],
                2,
            )
        )
        checks.append(
            (
                "iris 1 worker, largest process RSS ratio",
                rss["mlflow-iris"][1] / rss["modelpack-iris"][1],
                0,
            )
        )
        checks.append(
            (f"iris {n} workers, PSS per worker ratio", pss["mlflow"] / pss["modelpack"], 2)
        )
        ready = ready_medians(
            {
                "modelpack": ([*mp, "-m", str(work / "iris"), "--port"], None),
                "mlflow": (
                    [*mlflow_cli, "-m", str(work / "iris"), "-h", "127.0.0.1", "-p"],
                    {"PATH": f"{Path(MLFLOW_PYTHON).parent}:{os.environ.get('PATH', '')}"},
                ),
            },
            args.repeat,
        )
        print(f"\ntime to ready, iris, median of {args.repeat} starts taking turns:")
        for side, value in ready.items():
            print(f"  {side:10} {value:7.2f} s")
        checks.append(
            ("iris time to ready: mlflow / modelpack", ready["mlflow"] / ready["modelpack"], 3)
        )

        print(f"\n{'ratio (same run)':42} {'measured':>9} {'target':>7}")
        ok = True
        for what, value, target in checks:
            met = value >= target
            ok &= met
            mark = "" if target == 0 else ("ok" if met else "MISSED")
            print(f"{what:42} {value:9.2f} {('>= ' + str(target)) if target else '':>7} {mark}")
        return 0 if ok else 1
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
