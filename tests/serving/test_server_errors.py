"""Every error status, as a JSON body with no stack trace and no echo of what was sent."""

from __future__ import annotations

import concurrent.futures
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from serving_helpers import Server

SECRET = "s3cr3t-marker-do-not-echo"


def _assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error_code", "message"}
    if code is not None:
        assert body["error_code"] == code
    assert "Traceback" not in response.text and SECRET not in response.text
    return body


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"[1, 2, 3]",
        b'"just a string"',
        b"{}",
        b'{"inputs": [[1, 2, 3, 4]], "instances": [[1, 2, 3, 4]]}',
        b'{"dataframe_split": {"columns": ["sepal_length"], "data": [[1.0, 2.0]]}}',
        b'{"dataframe_split": "nope"}',
        b'{"dataframe_records": [1, 2]}',
        b'{"dataframe_records": [{"sepal_length": "' + SECRET.encode() + b'"}]}',
        b'{"inputs": {"sepal_length": [1.0]}}',
        b'{"inputs": [[1, 2], [3]]}',
        b"\xff\xfe\x00garbage",
        b"",
    ],
)
def test_malformed_or_nonconforming_json_is_a_400(iris_server: Server, content: bytes) -> None:
    response = iris_server.client.post(
        "/invocations", content=content, headers={"Content-Type": "application/json"}
    )
    _assert_error(response, 400)


def test_missing_column_is_named(iris_server: Server) -> None:
    record = {"sepal_length": 1.0, "sepal_width": 1.0, "petal_length": 1.0}
    response = iris_server.client.post("/invocations", json={"dataframe_records": [record]})
    assert "petal_width" in _assert_error(response, 400)["message"]


def test_unknown_route_is_a_json_404(iris_server: Server) -> None:
    _assert_error(iris_server.client.get("/nope"), 404, "ENDPOINT_NOT_FOUND")
    _assert_error(iris_server.client.post("/invocations/extra", json={}), 404)


def test_wrong_method_is_a_405(iris_server: Server) -> None:
    response = iris_server.client.get("/invocations")
    _assert_error(response, 405)
    assert "POST" in response.headers.get("allow", "")


def test_unsupported_content_type_is_a_415(iris_server: Server) -> None:
    for content_type in ("text/plain", "application/xml", "application/json; charset=latin-1"):
        response = iris_server.client.post(
            "/invocations", content=b"{}", headers={"Content-Type": content_type}
        )
        _assert_error(response, 415)


def test_oversized_body_declared_in_content_length_is_a_413(iris_server: Server) -> None:
    # limit is 200000 bytes for this server
    body = b'{"inputs": [' + b"1.0," * 60000 + b"1.0]}"
    _assert_error(
        iris_server.client.post("/invocations", content=body), 413, "REQUEST_LIMIT_EXCEEDED"
    )


def test_oversized_streamed_body_is_refused_while_streaming(iris_server: Server) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"inputs": ['
        for _ in range(2000):  # up to 2 MB, ten times the limit, without a Content-Length
            sent += 1000
            yield b"1.0," * 250

    try:
        response = iris_server.client.post("/invocations", content=chunks())
    except httpx.TransportError:
        pass  # the server may close the connection once it has answered 413
    else:
        _assert_error(response, 413)
    assert iris_server.client.get("/ping").status_code == 200


def test_bad_csv_and_parquet_are_400(iris_server: Server) -> None:
    response = iris_server.client.post(
        "/invocations", content=b"a,b\n1,2,3,4\n\x00", headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 400
    response = iris_server.client.post(
        "/invocations",
        content=b"PAR1 not really",
        headers={"Content-Type": "application/vnd.apache.parquet"},
    )
    _assert_error(response, 400)


def _slow(server: Server, delay: float) -> httpx.Response:
    body = {"inputs": {"x": [1.0]}, "params": {"delay": delay}}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return client.post("/invocations", json=body)


def _answers_again(server: Server, within: float = 20.0) -> bool:
    """The server answers a quick request with a 200 again (each try may wait out the
    prediction still running in the model thread, and 504 at --timeout)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _slow(server, 0).status_code == 200:
            return True
        time.sleep(0.2)
    return False


def test_timeout_is_a_504_and_the_server_moves_on(pyfunc_server: Server) -> None:
    start = time.monotonic()
    _assert_error(_slow(pyfunc_server, 4.0), 504, "DEADLINE_EXCEEDED")
    # --timeout 1: answered at the deadline, long before the 4 s prediction ends
    assert time.monotonic() - start < 3.0
    assert _answers_again(pyfunc_server)


def test_full_queue_is_a_503(pyfunc_server: Server) -> None:
    # --max-queue 3: one request runs, three wait, the rest are turned away at once
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: _slow(pyfunc_server, 0.4), range(10)))
    statuses = sorted(r.status_code for r in responses)
    assert 503 in statuses and 200 in statuses, statuses
    for response in responses:
        if response.status_code == 503:
            _assert_error(response, 503, "TEMPORARILY_UNAVAILABLE")
            assert int(response.headers["Retry-After"]) >= 1  # when to come back
    assert _answers_again(pyfunc_server)


def _mutations(seed: int, valid: list[bytes]) -> Iterator[tuple[bytes, str]]:
    rng = random.Random(seed)
    alphabet = b'{}[]",:0123456789.-eE nulltruefalseNaN\\\x00\xff'
    content_types = ["application/json", "", "text/csv", "application/vnd.apache.parquet"]
    while True:
        base = bytearray(rng.choice(valid))
        for _ in range(rng.randint(1, 6)):
            op = rng.random()
            pos = rng.randrange(len(base) + 1)
            if op < 0.4 and base:
                del base[pos : pos + rng.randint(1, 8)]
            elif op < 0.8:
                base[pos:pos] = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 4)))
            else:
                base = base[:pos]
        yield bytes(base), rng.choices(content_types, weights=[8, 1, 1, 1])[0]


def _fuzz_bodies() -> list[bytes]:
    row = [5.1, 3.5, 1.4, 0.2]
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    record = dict(zip(names, row, strict=True))
    docs: list[Any] = [
        {"dataframe_split": {"columns": names, "data": [row, row]}},
        {"dataframe_records": [record, record]},
        {"instances": [record]},
        {"inputs": {k: [v] for k, v in record.items()}},
        {"inputs": [row], "params": {"a": 1}},
        {"dataframe_split": {"columns": ["city", "age", "income"], "data": [["nice", 3, 1.5]]}},
    ]
    return [json.dumps(d).encode() for d in docs] + [b"a,b\n1,2\n"]


@pytest.mark.parametrize("server_name", ["iris_server", "mixed_server", "onnx_server"])
def test_fuzzed_bodies_never_get_a_5xx(request: pytest.FixtureRequest, server_name: str) -> None:
    server: Server = request.getfixturevalue(server_name)
    bodies = _mutations(seed=hash(server_name) & 0xFFFF, valid=_fuzz_bodies())
    deadline = time.monotonic() + 8
    statuses: dict[int, int] = {}
    count = 0
    while count < 400 and time.monotonic() < deadline:
        content, content_type = next(bodies)
        response = server.client.post(
            "/invocations", content=content, headers={"Content-Type": content_type}
        )
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (content[:200], response.text)
        assert "Traceback" not in response.text
        count += 1
    assert count >= 100 and statuses.get(400, 0) > 0
    assert server.client.get("/ping").status_code == 200


def test_nothing_sent_reaches_the_log(iris_server: Server) -> None:
    bad = {"dataframe_records": [{"sepal_length": SECRET, "sepal_width": [SECRET]}]}
    assert iris_server.client.post("/invocations", json=bad).status_code == 400
    assert SECRET not in iris_server.log()
    assert "Traceback" not in iris_server.log()


def test_half_a_surrogate_pair_is_a_400_never_a_500(iris_server: Server) -> None:
    # "\ud800" alone is valid JSON text but no character: no answer or log line could
    # hold it, so it must be refused where the body is read
    row = b'{"sepal_length":1,"sepal_width":1,"petal_length":1,"petal_width":1}'
    bodies = {
        "/invocations": b'{"dataframe_records":[' + row + b'],"params":{"\\ud800":1}}',
        "/v2/models/iris/infer": b'{"inputs":[{"name":"x\\ud800","datatype":"FP64",'
        b'"shape":[1],"data":[1.0]}]}',
    }
    for path, body in bodies.items():
        response = iris_server.client.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (path, response.text)
        assert "surrogate" in response.text
    v2_id = b'{"id":"\\udc00","inputs":[]}'
    response = iris_server.client.post("/v2/models/iris/infer", content=v2_id)
    assert response.status_code == 400 and set(response.json()) == {"error"}
    assert "Traceback" not in iris_server.log() and "ud800" not in iris_server.log()


def test_a_client_sent_name_is_cut_short_in_a_message(iris_server: Server) -> None:
    row = {"sepal_length": 1, "sepal_width": 1, "petal_length": 1, "petal_width": 1}
    name = "k" * 100_000
    response = iris_server.client.post(
        "/invocations", json={"dataframe_records": [row], "params": {name: 1}}
    )
    message = _assert_error(response, 400)["message"]
    assert "k" * 64 in message and len(response.content) < 1000


def test_integers_past_64_bits_are_refused_not_rounded(pyfunc_server: Server) -> None:
    # a JSON parser may read 2**64 + 1 as a float; the column is double, and the value
    # cannot be exact there
    for value in (2**64 + 1, 10**29 + 1):
        response = pyfunc_server.client.post("/invocations", json={"inputs": {"x": [value]}})
        assert "too large to be exact" in _assert_error(response, 400)["message"]
    response = pyfunc_server.client.post(
        "/invocations", json={"inputs": {"x": [1.0]}, "params": {"scale": 10**30 + 1}}
    )
    _assert_error(response, 400)


def test_a_client_hanging_up_mid_body_is_not_a_server_error(iris_server: Server) -> None:
    import socket

    host, port = iris_server.url.removeprefix("http://").split(":")
    for _ in range(3):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n" + b'{"inputs": [[1'
            )
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:
        text = iris_server.client.get("/metrics").text
        if 'status="499"' in text:
            break
        time.sleep(0.1)
    lines = [line for line in text.splitlines() if line.startswith("modelpack_")]
    assert any(
        line.startswith("modelpack_requests_total") and 'status="499"' in line for line in lines
    )
    assert any("CLIENT_CLOSED_REQUEST" in line for line in lines)
    assert not any('status="500"' in line for line in lines)
    assert "internal error" not in iris_server.log()


def test_with_watch_a_model_that_fails_to_load_says_so_and_never_claims_to_be_loading(
    tmp_path: Any, start_server: Any
) -> None:
    # without --watch the server exits instead (test_serve_startup.py)
    import sys

    import cloudpickle

    import modelpack

    class Broken(modelpack.pyfunc.PythonModel):
        def load_context(self, context: Any) -> None:
            raise RuntimeError(SECRET)

        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return model_input

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    path = tmp_path / "broken"
    modelpack.pyfunc.save_model(path, python_model=Broken())
    from serving_helpers import launch

    server = launch(path, "--trust", "--watch", log_dir=tmp_path, ready=False)
    try:
        deadline = time.monotonic() + 30
        while "could not load" not in server.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        for route in ("/ping", "/invocations", "/v2/health/ready"):
            if route == "/invocations":
                response = server.client.post(route, json={"inputs": [[1.0]]})
            else:
                response = server.client.get(route)
            assert response.status_code == 503, route
            assert "could not load the model: RuntimeError" in response.text, route
        assert "could not load the model: RuntimeError" in server.log()
        assert SECRET not in server.log()
    finally:
        server.stop()
