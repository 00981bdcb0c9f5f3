"""The web UI's runs table at 10,000 runs x 20 metrics x 20 params: first-page time.

Seeds a fresh SQLite store (one experiment, 10,000 runs, each with 20 params, 20
metrics of 3 points, 2 tags), starts a real ``modelpack ui`` process and measures, in
the same run:

- server time of ``GET /experiments/<id>`` for the first page (50 runs), by the
  ``Server-Timing``-free way: wall time of the request over loopback (an upper bound);
  default view, sorted by a metric, and filtered + sorted;
- the baseline: the same first page answered by ``Client.search_runs`` (loads every
  run's values, then slices), in-process, same store;
- time to the table rendered in headless Chromium (Debian's, via Playwright), from
  navigation start to the table's rows in the DOM.

    python bench/bench_ui.py [--runs 10000] [--repeat 15]

Exit status 0 when the first page's median is within 150 ms, 1 otherwise.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from modelpack import Client  # noqa: E402
from modelpack.tracking.stores import Tx  # noqa: E402

TARGET_MS = 150.0


def seed(store_uri: str, runs: int) -> str:
    client = Client(store_uri)
    experiment_id = client.create_experiment("bench-10k")
    rng = random.Random(0)
    start = 1_700_000_000_000

    def work(conn: Tx) -> None:
        run_rows, params, metrics, tags = [], [], [], []
        for i in range(runs):
            run_id = f"{i:032x}"
            run_rows.append(
                (run_id, experiment_id, f"run-{i}", "FINISHED", start + i, start + i + 5)
            )
            params += [(run_id, f"param_{p:02d}", str(rng.randint(0, 50))) for p in range(20)]
            tags += [(run_id, "team", rng.choice(["red", "blue"])), (run_id, "mlflow.user", "x")]
            for m in range(20):
                metrics += [
                    (run_id, f"metric_{m:02d}", rng.random(), start + s, s) for s in range(3)
                ]
        conn.executemany(
            "INSERT INTO runs (run_id, experiment_id, run_name, status, start_time, end_time) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            run_rows,
        )
        conn.executemany("INSERT INTO params VALUES (?, ?, ?)", params)
        conn.executemany("INSERT INTO tags VALUES (?, ?, ?)", tags)
        conn.executemany(
            "INSERT INTO metrics (run_id, key, value, timestamp, step) VALUES (?, ?, ?, ?, ?)",
            metrics,
        )

    client.store.write(work)
    return experiment_id


def _median_ms(fn: object, repeat: int) -> float:
    times = []
    fn()  # type: ignore[operator]  # warm-up
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def browser_ms(url: str, repeat: int) -> float | None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    exe = next(
        (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None
    )
    if exe is None:
        return None
    times = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=exe, headless=True, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for i in range(repeat + 1):
            page.goto("about:blank")
            t0 = time.perf_counter()
            page.goto(url, wait_until="commit")
            page.wait_for_selector("#runs-table tbody tr:nth-child(50)")
            if i:
                times.append((time.perf_counter() - t0) * 1000)
        browser.close()
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store_uri = f"sqlite:///{Path(tmp) / 'store.db'}"
        t0 = time.perf_counter()
        experiment_id = seed(store_uri, args.runs)
        print(f"seeded {args.runs} runs x 20 metrics (3 points) x 20 params in "
              f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
        log = open(Path(tmp) / "ui.log", "w+b")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelpack", "ui", "--backend-store-uri", store_uri,
             "--port", "0"], stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            base = ""
            for _ in range(300):
                time.sleep(0.1)
                text = (Path(tmp) / "ui.log").read_text()
                if "listening on " in text:
                    base = text.split("listening on ")[1].split()[0]
                    break
            if not base:
                print("modelpack ui did not start", file=sys.stderr)
                return 2
            page = f"{base}/experiments/{experiment_id}"
            views = {
                "first page, default view": {},
                "sorted by metrics.metric_07": {"order": "metrics.metric_07 DESC"},
                "filtered + sorted": {"filter": "metrics.metric_03 < 0.5 and params.param_01 = '7'",
                                      "order": "params.param_02"},
            }  # fmt: skip
            with httpx.Client(timeout=60) as http:
                results = {}
                for label, query in views.items():
                    url = f"{page}?{urlencode(query)}" if query else page
                    results[label] = _median_ms(
                        lambda url=url: http.get(url).raise_for_status(), args.repeat
                    )
            client = Client(store_uri)
            baseline = _median_ms(
                lambda: client.search_runs([experiment_id], "", None, 50), max(3, args.repeat // 3)
            )
            paged = _median_ms(
                lambda: client.search_runs_page([experiment_id], "", None, 0, 50), args.repeat
            )
            rendered = browser_ms(page, max(5, args.repeat // 3))
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()
    print(f"\n{'view (HTTP, loopback, median)':40} {'ms':>8}")
    for label, ms in results.items():
        print(f"{label:40} {ms:8.1f}")
    print(f"\nfirst page of 50 in-process: search_runs_page {paged:.1f} ms, "
          f"search_runs (baseline) {baseline:.1f} ms -> {baseline / paged:.1f}x")  # fmt: skip
    if rendered is not None:
        print(f"table rendered in headless Chromium: {rendered:.1f} ms")
    first = results["first page, default view"]
    ok = first <= TARGET_MS
    print(
        f"\nfirst page {first:.1f} ms: {'meets' if ok else 'MISSES'} the {TARGET_MS:.0f} ms target"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
