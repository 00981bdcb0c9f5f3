"""``modelpack server --workers 2``: two worker processes share the socket and the store.
16 clients registering versions of one model at once get versions 1..16 exactly, 8
clients logging metrics to one run lose no point, and both workers hold connections."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from modelpack.tracking import Client
from tests.serve_process import serving
from tests.server.tracking_server import RunningServer, log_model_run, server_argv


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp("workers")
    store_uri = f"sqlite:///{root / 'store.db'}"
    with serving([*server_argv(store_uri), "--workers", "2"], cwd=root) as url:
        yield RunningServer(url, store_uri)


def _worker_pids(port: int) -> list[int]:
    """The processes that hold the listening socket of ``port`` (the workers)."""
    inodes = set()
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    return sorted(pid for pid in _pids() if _sockets(pid) & inodes and _is_worker(pid))


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _is_worker(pid: int) -> bool:
    try:
        return b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _sockets(pid: int) -> set[str]:
    found = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                found.add(target[8:-1])
    except OSError:
        pass
    return found


def _established(port: int) -> set[str]:
    inodes = set()
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
                inodes.add(fields[9])
    return inodes


def test_two_workers_share_the_load(two_workers: RunningServer) -> None:
    port = int(two_workers.url.rsplit(":", 1)[1])
    workers = _worker_pids(port)
    assert len(workers) == 2, workers
    for _ in range(5):  # connections spread over the workers by the kernel's accept
        clients = [httpx.Client(timeout=30) for _ in range(32)]
        try:
            barrier = threading.Barrier(len(clients))

            def ping(client: httpx.Client, barrier: threading.Barrier = barrier) -> int:
                barrier.wait()
                return client.post(two_workers.api("/experiments/search"), json={}).status_code

            with ThreadPoolExecutor(len(clients)) as pool:
                assert set(pool.map(ping, clients)) == {200}
            open_now = _established(port)
            holding = [len(_sockets(pid) & open_now) for pid in workers]
        finally:
            for client in clients:
                client.close()
        if all(holding):
            break
    assert all(holding), holding


def test_concurrent_registrations_get_versions_1_to_16(
    two_workers: RunningServer, tmp_path: Path
) -> None:
    run_id = log_model_run(two_workers.store_uri, "concurrent", tmp_path)
    httpx.post(two_workers.api("/registered-models/create"), json={"name": "busy"}, timeout=30)
    body = {"name": "busy", "source": f"runs:/{run_id}/model", "run_id": run_id}

    def register(_: int) -> str:
        answer = httpx.post(two_workers.api("/model-versions/create"), json=body, timeout=120)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["model_version"]["version"])

    with ThreadPoolExecutor(16) as pool:
        versions = sorted(pool.map(register, range(16)), key=int)
    assert versions == [str(v) for v in range(1, 17)]
    stored = Client(two_workers.store_uri).search_model_versions("name = 'busy'")
    assert [v.version for v in stored] == list(range(1, 17))


def test_concurrent_metric_logging_loses_no_point(two_workers: RunningServer) -> None:
    client = Client(two_workers.store_uri)
    run_id = client.create_run(client.create_experiment("metrics-8")).info.run_id

    def log(writer: int) -> None:
        with httpx.Client(timeout=60) as http:
            for step in range(25):
                point = {"key": "m", "value": writer, "timestamp": 1, "step": writer * 100 + step}
                single = http.post(
                    two_workers.api("/runs/log-metric"), json={"run_id": run_id, **point}
                )
                batch = http.post(two_workers.api("/runs/log-batch"),
                                  json={"run_id": run_id, "metrics": [{**point, "key": "b"}]})  # fmt: skip
                assert single.status_code == batch.status_code == 200

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(log, range(8)))
    for key in ("m", "b"):
        points = client.get_metric_history(run_id, key)
        assert sorted(p.step for p in points) == sorted(
            w * 100 + s for w in range(8) for s in range(25)
        )
