"""The Open Inference Protocol (V2) routes, as KServe/Triton/MLServer clients call them."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from serving_helpers import Server, mixed_frame


def test_server_and_health_routes(onnx_server: Server) -> None:
    client = onnx_server.client
    assert client.get("/v2").json()["name"] == "modelpack"
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").status_code == 200
    assert client.get("/v2/models/iris-onnx/ready").json() == {"name": "iris-onnx", "ready": True}
    assert client.get("/v2/models/iris-onnx/versions/1/ready").status_code == 200


def test_tensor_model_metadata_and_infer(onnx_server: Server, iris_frame: Any) -> None:
    client = onnx_server.client
    meta = client.get("/v2/models/iris-onnx").json()
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert {o["name"] for o in meta["outputs"]} == {"label", "probabilities"}
    rows = iris_frame[0].iloc[[0, 60, 120]].to_numpy()
    body = {
        "id": "req-42",
        "inputs": [
            {"name": "input", "shape": [3, 4], "datatype": "FP32", "data": rows.ravel().tolist()}
        ],
    }
    response = client.post("/v2/models/iris-onnx/versions/1/infer", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["id"] == "req-42" and answer["model_name"] == "iris-onnx"
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert outputs["label"]["data"] == [0, 1, 2] and outputs["label"]["datatype"] == "INT64"
    assert outputs["probabilities"]["shape"] == [3, 3]
    assert outputs["probabilities"]["datatype"] == "FP32"


def test_tabular_model_takes_one_input_per_column(
    mixed_server: Server, mixed_estimator: Any
) -> None:
    frame, _ = mixed_frame(5)
    body = {
        "inputs": [
            {"name": "city", "shape": [5], "datatype": "BYTES", "data": frame["city"].tolist()},
            {"name": "age", "shape": [5, 1], "datatype": "INT64", "data": frame["age"].tolist()},
            {"name": "income", "shape": [5], "datatype": "FP64", "data": frame["income"].tolist()},
        ]
    }
    response = mixed_server.client.post("/v2/models/mixed/infer", json=body)
    assert response.status_code == 200, response.text
    (output,) = response.json()["outputs"]
    assert output["data"] == mixed_estimator.predict(frame).tolist()
    meta = mixed_server.client.get("/v2/models/mixed").json()
    assert [i["datatype"] for i in meta["inputs"]] == ["BYTES", "INT64", "FP64"]


def test_v2_errors_are_error_objects(mixed_server: Server) -> None:
    client = mixed_server.client
    wrong_model = client.post("/v2/models/other/infer", json={"inputs": []})
    assert wrong_model.status_code == 404 and set(wrong_model.json()) == {"error"}
    assert client.get("/v2/models/mixed/versions/9").status_code == 404
    bad_bodies: list[Any] = [
        {"inputs": []},
        {"inputs": [{"name": "age", "shape": [2], "datatype": "INT64", "data": [1]}]},
        {"inputs": [{"name": "age", "shape": [1], "datatype": "INT64", "data": [1.7]}]},
        {"inputs": [{"name": "age", "shape": [1], "datatype": "INT128", "data": [1]}]},
        {"inputs": [{"name": "city", "shape": [1], "datatype": "BYTES", "data": [3]}]},
        [1, 2],
    ]
    for body in bad_bodies:
        response = client.post("/v2/models/mixed/infer", json=body)
        assert response.status_code == 400, (body, response.text)
        assert set(response.json()) == {"error"}
    assert set(client.get("/v2/nope").json()) == {"error"}
    float_for_long = np.array([1.5]).tolist()
    response = client.post(
        "/v2/models/mixed/infer",
        json={
            "inputs": [
                {"name": "city", "shape": [1], "datatype": "BYTES", "data": ["nice"]},
                {"name": "age", "shape": [1], "datatype": "FP64", "data": float_for_long},
                {"name": "income", "shape": [1], "datatype": "FP64", "data": [1.0]},
            ]
        },
    )
    assert response.status_code == 400 and "age" in response.json()["error"]


def _mixed_inputs(**replace: Any) -> list[dict[str, Any]]:
    inputs = {
        "city": {"name": "city", "shape": [1], "datatype": "BYTES", "data": ["nice"]},
        "age": {"name": "age", "shape": [1], "datatype": "INT64", "data": [40]},
        "income": {"name": "income", "shape": [1], "datatype": "FP64", "data": [1.0]},
    }
    inputs.update(replace)
    return list(inputs.values())


def test_v2_refuses_what_it_cannot_honour(mixed_server: Server) -> None:
    client = mixed_server.client
    # parameters not as an object: refused, as /invocations refuses them, not ignored
    for parameters in ([["scale", 3]], "scale=3", 3):
        body = {"inputs": _mixed_inputs(), "parameters": parameters}
        response = client.post("/v2/models/mixed/infer", json=body)
        assert response.status_code == 400 and "parameters" in response.json()["error"]
    # the same input twice: which one was meant? never silently the last
    twice = [*_mixed_inputs(), {"name": "age", "shape": [1], "datatype": "INT64", "data": [3]}]
    response = client.post("/v2/models/mixed/infer", json={"inputs": twice})
    assert response.status_code == 400 and "same name" in response.json()["error"]
    assert client.post("/v2/models/mixed/infer", json={"inputs": _mixed_inputs()}).is_success


def test_v2_answers_are_typed_json(mixed_server: Server) -> None:
    for path in ("/v2", "/v2/health/ready", "/v2/models/mixed", "/v2/models/mixed/ready"):
        response = mixed_server.client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json"), path


def test_v2_bytes_outputs_carry_values_not_python_reprs(echo_server: Server) -> None:
    body = {
        "inputs": [
            {"name": "d", "shape": [2], "datatype": "FP64", "data": [1.5, 2.5]},
            {"name": "s", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]},
            {
                "name": "t",
                "shape": [2],
                "datatype": "BYTES",
                "data": ["2024-01-02T03:04:05.123456789", "2024-01-02T00:00:00"],
            },
            {"name": "y", "shape": [2], "datatype": "BYTES", "data": ["aGk=", "AAE="]},
        ]
    }
    response = echo_server.client.post("/v2/models/echo/infer", json=body)
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    assert outputs["s"]["data"] == ["a", "b"]
    # binary as base64 and times as ISO 8601, as the inputs were sent and as
    # /invocations answers them; not "b'hi'" nor nanoseconds since 1970
    assert outputs["y"]["data"] == ["aGk=", "AAE="]
    assert outputs["t"]["data"] == ["2024-01-02T03:04:05.123456789", "2024-01-02T00:00:00"]
    same = echo_server.client.post(
        "/invocations",
        json={
            "dataframe_split": {
                "columns": ["d", "s", "t", "y"],
                "data": [[1.5, "a", "2024-01-02T03:04:05.123456789", "aGk="]],
            }
        },
    )
    record = same.json()["predictions"][0]
    # the same base64; /invocations adds the newline MLflow's base64.encodebytes writes
    assert record["y"] == outputs["y"]["data"][0] + "\n"
    assert record["t"] == outputs["t"]["data"][0]


def test_v2_int64_for_a_double_column_is_judged_by_value(
    mixed_server: Server, mixed_estimator: Any
) -> None:
    # numpy's integers go out as INT64: 2000 is exact as a double, 2**53 + 1 is not
    def infer(datatype: str, value: Any) -> Any:
        income = {"name": "income", "shape": [1], "datatype": datatype, "data": [value]}
        body = {"inputs": _mixed_inputs(income=income)}
        return mixed_server.client.post("/v2/models/mixed/infer", json=body)

    as_int, as_float = infer("INT64", 2000), infer("FP64", 2000.0)
    assert as_int.status_code == 200, as_int.text
    assert as_int.json()["outputs"] == as_float.json()["outputs"]
    too_big = infer("INT64", 2**53 + 1)
    assert too_big.status_code == 400 and "too large to be exact" in too_big.json()["error"]


def _onnx_input(**replace: Any) -> dict[str, Any]:
    item = {"name": "input", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}
    item.update(replace)
    return item


def _with(field: str, raw: str) -> bytes:
    """A good request body with ``field`` set to the raw JSON text ``raw``."""
    return (f'{{"inputs": [{json.dumps(_onnx_input())}], "{field}": ' + raw + "}").encode()


def _nested(depth: int, open_: str = '{"a": ', close: str = "}") -> str:
    """JSON text nesting ``depth`` deep (too deep for Python's json to write)."""
    return open_ * depth + "1" + close * depth


def test_v2_odd_request_fields_are_typed_400s(onnx_server: Server) -> None:
    client = onnx_server.client
    bodies: list[Any] = [
        {"inputs": [_onnx_input(datatype=["FP32"])]},
        {"inputs": [_onnx_input(datatype={"FP32": 1})]},
        {"inputs": [_onnx_input(shape=[1] * 65)]},
        {"inputs": [_onnx_input(name=["input"])]},
        _with("parameters", _nested(1000)),
        _with("parameters", '{"p": ' + _nested(1000, "[", "]") + "}"),
        _with("id", _nested(1000)),
        _with("id", _nested(1000, "[", "]")),
        {"inputs": [_onnx_input()], "id": [[1]]},
        {"inputs": [_onnx_input()], "outputs": "label"},
        {"inputs": [_onnx_input()], "outputs": [{"name": "nope"}]},
    ]
    for body in bodies:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = client.post("/v2/models/iris-onnx/infer", content=content)
        assert response.status_code == 400, (content[:200], response.text)
        assert set(response.json()) == {"error"}
    # and the server is still up, answering good requests
    response = client.post("/v2/models/iris-onnx/infer", json={"inputs": [_onnx_input()]})
    assert response.status_code == 200, response.text


def test_v2_refuses_unknown_and_extra_inputs(onnx_server: Server, mixed_server: Server) -> None:
    # a one-input tensor model: the input must carry the declared name, not any name
    unknown = {"inputs": [_onnx_input(name="inputz")]}
    response = onnx_server.client.post("/v2/models/iris-onnx/infer", json=unknown)
    assert response.status_code == 400 and "inputz" in response.json()["error"]
    assert "'input'" in response.json()["error"]
    extra = {"inputs": [_onnx_input(), _onnx_input(name="other")]}
    response = onnx_server.client.post("/v2/models/iris-onnx/infer", json=extra)
    assert response.status_code == 400 and "other" in response.json()["error"]
    # a column model: an input that names no column is refused, not dropped
    stray = {"name": "colour", "shape": [1], "datatype": "BYTES", "data": ["red"]}
    body = {"inputs": [*_mixed_inputs(), stray]}
    response = mixed_server.client.post("/v2/models/mixed/infer", json=body)
    assert response.status_code == 400 and "colour" in response.json()["error"]


def test_v2_metadata_and_answers_name_outputs_alike(
    mixed_server: Server, onnx_server: Server
) -> None:
    for server, model, inputs in (
        (mixed_server, "mixed", _mixed_inputs()),
        (onnx_server, "iris-onnx", [_onnx_input()]),
    ):
        declared = [o["name"] for o in server.client.get(f"/v2/models/{model}").json()["outputs"]]
        response = server.client.post(f"/v2/models/{model}/infer", json={"inputs": inputs})
        assert response.status_code == 200, response.text
        assert [o["name"] for o in response.json()["outputs"]] == declared
    assert declared == ["label", "probabilities"]


def test_v2_requested_outputs_are_the_ones_returned(onnx_server: Server) -> None:
    def infer(*names: str) -> list[str]:
        body = {"inputs": [_onnx_input()], "outputs": [{"name": n} for n in names]}
        response = onnx_server.client.post("/v2/models/iris-onnx/infer", json=body)
        assert response.status_code == 200, response.text
        return [o["name"] for o in response.json()["outputs"]]

    assert infer("probabilities") == ["probabilities"]
    assert infer("probabilities", "label") == ["probabilities", "label"]
    body = {"inputs": [_onnx_input()], "outputs": [{"name": "label"}, {"name": "scores"}]}
    response = onnx_server.client.post("/v2/models/iris-onnx/infer", json=body)
    assert response.status_code == 400
    assert "'scores'" in response.json()["error"] and "'probabilities'" in response.json()["error"]
