"""Workers, metrics across workers, SIGTERM with requests in flight, readiness, --watch swaps."""

from __future__ import annotations

import concurrent.futures
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving_helpers import Server


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for match in re.finditer(rf"^{name}\{{([^}}]*)\}} (\S+)$", text, re.M):
        have = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


def _post(url: str, body: Any) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=30) as client:
        return client.post("/invocations", json=body)


def _wait_in_flight(server: Server, requests: int, timeout: float = 20.0) -> None:
    """Wait until the server reports ``requests`` model requests in flight (a sleep is not
    enough on a busy machine: a request not yet accepted would meet a closed socket)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = server.client.get("/metrics").text
        # the scrape itself is one of the requests in flight
        if _metric(text, "modelpack_in_flight_requests") - 1 >= requests:
            return
        time.sleep(0.02)
    raise AssertionError(f"{requests} requests were not in flight within {timeout} s")


def test_workers_share_the_socket_and_metrics_add_up(start_server: Any, iris_model: Path) -> None:
    server: Server = start_server(iris_model, "--workers", "2")
    body = {"inputs": [[5.1, 3.5, 1.4, 0.2]]}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: _post(server.url, body).status_code, range(200)))
    assert statuses == [200] * 200
    text = server.client.get("/metrics").text
    served = _metric(text, "modelpack_requests_total", route="/invocations", status="200")
    assert served == 200  # one scrape, summed over both workers
    assert _metric(text, "modelpack_request_duration_seconds_count", route="/invocations") == 200
    assert _metric(text, "modelpack_model_load_seconds", model="iris", version="1") > 0
    assert "modelpack_in_flight_requests" in text and "modelpack_queue_depth" in text
    assert len(set(re.findall(r'pid="(\d+)"', text)) | {"x"}) >= 1
    assert server.stop() == 0


def test_onnx_workers_each_load_their_own_session(
    start_server: Any, onnx_model: Path, iris_frame: Any
) -> None:
    # onnxruntime's thread pools do not survive fork(): the flavor says fork_safe = False
    server: Server = start_server(onnx_model, "--workers", "2")
    rows = iris_frame[0].iloc[[0, 60, 120]].to_numpy().tolist()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _post(server.url, {"inputs": rows}), range(60)))

    assert [a.status_code for a in answers] == [200] * 60
    assert all(a.json()["predictions"]["label"] == [0, 1, 2] for a in answers)
    assert "before forking" not in server.log()  # loaded in each worker, not in the parent
    assert server.stop() == 0


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigterm_lets_in_flight_requests_finish(
    start_server: Any, pyfunc_model: Path, workers: str
) -> None:
    server: Server = start_server(pyfunc_model, "--trust", "--workers", workers, "--timeout", "10")
    body = {"inputs": {"x": [2.0]}, "params": {"delay": 0.8}}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(_post, server.url, body) for _ in range(4)]
        _wait_in_flight(server, 4)  # all four in the server; some queued behind the others
        server.proc.send_signal(signal.SIGTERM)
        responses = [f.result() for f in futures]
    assert [r.status_code for r in responses] == [200] * 4
    assert all(r.json() == {"predictions": [2.0]} for r in responses)
    # after its graceful shutdown uvicorn re-raises the signal, so one worker ends by SIGTERM
    assert server.proc.wait(20) in (0, -signal.SIGTERM)
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/ping", timeout=2)


def test_health_is_503_until_the_model_is_loaded(
    start_server: Any, slow_loading_model: Path, tmp_path: Path
) -> None:
    from serving_helpers import launch

    server = launch(slow_loading_model, "--trust", log_dir=tmp_path, ready=False)
    try:
        statuses = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            response = server.client.get("/ping")
            statuses.append(response.status_code)
            if response.status_code == 200:
                break
            assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
            scored = server.client.post("/invocations", json={"inputs": {"x": [1.0]}})
            if scored.status_code == 200:  # the load finished between the two requests
                statuses.append(server.client.get("/ping").status_code)
                break
            assert scored.status_code == 503
            time.sleep(0.1)
        assert statuses[0] == 503 and statuses[-1] == 200
    finally:
        server.stop()


def test_watch_swaps_versions_under_load_without_a_failed_request(
    start_server: Any, iris_model: Path, shifted_iris_model: Path, tmp_path: Path, iris_frame: Any
) -> None:
    import modelpack

    store = tmp_path / "store"
    client = modelpack.Client(str(store))
    modelpack.register_model(iris_model, "iris", client=client)
    modelpack.register_model(shifted_iris_model, "iris", client=client)
    client.set_registered_model_alias("iris", "champion", 1)
    server: Server = start_server(
        "models:/iris@champion",
        "--watch",
        "--watch-interval",
        "0.2",
        env={"MODELPACK_TRACKING_URI": str(store)},
    )
    rows = iris_frame[0].iloc[[0, 60, 120]].to_numpy().tolist()
    v1 = server.client.post("/invocations", json={"inputs": rows}).json()["predictions"]
    stop = threading.Event()
    failures: list[str] = []
    seen: set[str] = set()

    def load() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            while not stop.is_set():
                response = http.post("/invocations", json={"inputs": rows})
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:200]}")
                else:
                    seen.add(str(response.json()["predictions"]))

    threads = [threading.Thread(target=load) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    client.set_registered_model_alias("iris", "champion", 2)
    deadline = time.monotonic() + 20
    while server.client.get("/metadata").json()["version"] != "2" and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()
    assert not failures, failures[:5]
    v2 = server.client.post("/invocations", json={"inputs": rows}).json()["predictions"]
    assert server.client.get("/metadata").json()["version"] == "2"
    assert v2 != v1 and seen == {str(v1), str(v2)}
