"""Retry policy of the REST store, against a small real HTTP server on 127.0.0.1 that
answers 503/429 a set number of times: reads are retried, writes never blindly."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from modelpack.errors import StoreError
from modelpack.tracking import Client

EXPERIMENT = {
    "experiment": {
        "experiment_id": "0",
        "name": "Default",
        "artifact_location": "mlflow-artifacts:/0",
        "lifecycle_stage": "active",
    }
}


class _Flaky(BaseHTTPRequestHandler):
    """Answers ``failures`` requests with ``status`` (429 with Retry-After), then 200."""

    failures = 0
    status = 503
    seen: list[str] = []

    def _answer(self) -> None:
        type(self).seen.append(f"{self.command} {self.path.split('?')[0]}")
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if type(self).failures > 0:
            type(self).failures -= 1
            body = json.dumps({"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"})
            self.send_response(type(self).status)
            if type(self).status == 429:
                self.send_header("Retry-After", "0")
        else:
            body = json.dumps(EXPERIMENT)
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        return


@pytest.fixture
def flaky_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    _Flaky.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("status", [503, 429])
def test_a_read_is_retried_until_the_server_answers(flaky_url: str, status: int) -> None:
    _Flaky.failures, _Flaky.status = 2, status
    assert Client(flaky_url).get_experiment("0").name == "Default"
    assert _Flaky.seen == ["GET /api/2.0/mlflow/experiments/get"] * 3


def test_a_write_is_not_repeated_after_the_server_got_it(flaky_url: str) -> None:
    _Flaky.failures, _Flaky.status = 1, 503
    with pytest.raises(StoreError, match="503"):
        Client(flaky_url).create_experiment("once")
    assert _Flaky.seen == ["POST /api/2.0/mlflow/experiments/create"]


@pytest.mark.parametrize("status", [503, 429])
def test_a_server_that_stays_busy_gives_up_with_a_store_error(flaky_url: str, status: int) -> None:
    _Flaky.failures, _Flaky.status = 100, status
    with pytest.raises(StoreError, match=f"busy \\(HTTP {status}\\)"):
        Client(flaky_url).get_experiment("0")
    assert 1 < len(_Flaky.seen) <= 4
