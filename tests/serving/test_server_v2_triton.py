"""tritonclient, unchanged, against the V2 routes: its defaults send inputs as binary
tensor data and ask for binary outputs (the binary data extension); JSON mode works too."""

from __future__ import annotations

import struct
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from serving_helpers import Server, mixed_frame
from tritonclient.utils import InferenceServerException


def _client(server: Server) -> Any:
    return triton.InferenceServerClient(url=server.url.removeprefix("http://"))


def _input(name: str, array: np.ndarray, datatype: str, binary: bool = True) -> Any:
    tensor = triton.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array, binary_data=binary)
    return tensor


def test_tritonclient_defaults_binary_in_and_out(onnx_server: Server, iris_frame: Any) -> None:
    client = _client(onnx_server)
    assert client.is_server_live() and client.is_model_ready("iris-onnx")
    meta = client.get_model_metadata("iris-onnx")
    assert [o["name"] for o in meta["outputs"]] == ["label", "probabilities"]
    rows = iris_frame[0].iloc[[0, 60, 120]].to_numpy(np.float32)
    result = client.infer("iris-onnx", [_input("input", rows, "FP32")])
    # binary outputs, decoded by tritonclient itself
    assert [o["name"] for o in result.get_response()["outputs"]] == ["label", "probabilities"]
    assert all("data" not in o for o in result.get_response()["outputs"])
    np.testing.assert_array_equal(result.as_numpy("label"), [0, 1, 2])
    probabilities = result.as_numpy("probabilities")
    assert probabilities.dtype == np.float32 and probabilities.shape == (3, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_tritonclient_json_mode_and_chosen_outputs(onnx_server: Server, iris_frame: Any) -> None:
    client = _client(onnx_server)
    rows = iris_frame[0].iloc[[0, 60, 120]].to_numpy(np.float32)
    both = client.infer("iris-onnx", [_input("input", rows, "FP32")]).as_numpy("probabilities")
    outputs = [
        triton.InferRequestedOutput("probabilities", binary_data=False),
        triton.InferRequestedOutput("label", binary_data=True),
    ]
    result = client.infer(
        "iris-onnx", [_input("input", rows, "FP32", binary=False)], outputs=outputs
    )
    answer = result.get_response()["outputs"]
    assert [o["name"] for o in answer] == ["probabilities", "label"]
    assert "data" in answer[0] and "data" not in answer[1]
    np.testing.assert_array_equal(result.as_numpy("probabilities"), both)
    np.testing.assert_array_equal(result.as_numpy("label"), [0, 1, 2])


def test_tritonclient_bytes_and_mixed_columns(mixed_server: Server, mixed_estimator: Any) -> None:
    frame, _ = mixed_frame(6)
    inputs = [
        _input("city", frame["city"].to_numpy(dtype=object), "BYTES"),
        _input("age", frame["age"].to_numpy(), "INT64"),
        _input("income", frame["income"].to_numpy(), "FP64"),
    ]
    result = _client(mixed_server).infer("mixed", inputs, request_id="r-1")
    assert result.get_response()["id"] == "r-1"
    np.testing.assert_array_equal(result.as_numpy("predict"), mixed_estimator.predict(frame))


def test_tritonclient_parameters_reach_the_model(pyfunc_server: Server) -> None:
    x = np.array([1.0, 2.0])
    client = _client(pyfunc_server)
    result = client.infer("scaler", [_input("x", x, "FP64")], parameters={"scale": 3.0})
    np.testing.assert_allclose(result.as_numpy("predict"), [3.0, 6.0])
    # Triton's scheduling hints are the protocol's, not the model's params
    result = client.infer("scaler", [_input("x", x, "FP64")], priority=2, request_id="p")
    np.testing.assert_allclose(result.as_numpy("predict"), [1.0, 2.0])
    # a param the model does not declare is still refused, not dropped
    with pytest.raises(InferenceServerException, match="bogus"):
        client.infer("scaler", [_input("x", x, "FP64")], parameters={"bogus": 1})


def test_tritonclient_errors_are_exceptions_not_crashes(onnx_server: Server) -> None:
    client = _client(onnx_server)
    wrong_type = np.zeros((1, 4), dtype=np.float64)
    with pytest.raises(InferenceServerException, match="input"):
        client.infer("iris-onnx", [_input("input", wrong_type, "FP64")])
    with pytest.raises(InferenceServerException, match="inputz"):
        client.infer("iris-onnx", [_input("inputz", wrong_type.astype(np.float32), "FP32")])


def _binary_request(
    server: Server, header: dict[str, Any], tail: bytes, length: str | None = None
) -> httpx.Response:
    doc = httpx.Request("POST", "/", json=header).content
    headers = {"Inference-Header-Content-Length": length or str(len(doc))}
    return server.client.post("/v2/models/iris-onnx/infer", content=doc + tail, headers=headers)


def test_binary_sizes_are_checked_against_shape_and_body(onnx_server: Server) -> None:
    four = np.arange(4, dtype=np.float32).tobytes()

    def header(size: int, shape: list[int] | None = None, kind: str = "FP32") -> dict[str, Any]:
        item = {"name": "input", "shape": shape or [1, 4], "datatype": kind}
        return {"inputs": [{**item, "parameters": {"binary_data_size": size}}]}

    assert _binary_request(onnx_server, header(16), four).status_code == 200
    refused = [
        _binary_request(onnx_server, header(12), four[:12]),  # shape needs 16 bytes
        _binary_request(onnx_server, header(32, [2, 4]), four),  # body has only 16
        _binary_request(onnx_server, header(16), four + b"\0" * 4),  # bytes left over
        _binary_request(onnx_server, header(16), four, length="100000"),  # past the body
        _binary_request(onnx_server, header(16), four, length="-3"),
        _binary_request(onnx_server, header(-1), four),
        _binary_request(onnx_server, header(16, [1, 10**18]), four),
        # BYTES: an element's length runs past the tensor, too few bytes for the count
        _binary_request(onnx_server, header(8, [1, 1], "BYTES"), struct.pack("<I", 1000) + b"abcd"),
        _binary_request(onnx_server, header(4, [1, 4], "BYTES"), struct.pack("<I", 0)),
        _binary_request(onnx_server, header(2, [1, 2], "BOOL"), b"\x07\x01"),
    ]
    for response in refused:
        assert response.status_code == 400, response.text
        assert set(response.json()) == {"error"}
    assert _binary_request(onnx_server, header(16), four).status_code == 200


def test_tritonclient_bytes_outputs_in_binary(echo_server: Server) -> None:
    inputs = [
        _input("d", np.array([1.5, 2.5]), "FP64"),
        _input("s", np.array(["a", "héllo"], dtype=object), "BYTES"),
        _input("t", np.array(["2024-01-02T03:04:05", "2024-01-02"], dtype=object), "BYTES"),
        _input("y", np.array(["aGk=", "AAE="], dtype=object), "BYTES"),
    ]
    result = _client(echo_server).infer("echo", inputs)
    assert result.as_numpy("s").tolist() == [b"a", "héllo".encode()]
    assert result.as_numpy("y").tolist() == [b"aGk=", b"AAE="]
    assert result.as_numpy("t").tolist() == [b"2024-01-02T03:04:05", b"2024-01-02T00:00:00"]
    np.testing.assert_array_equal(result.as_numpy("d"), [1.5, 2.5])
