"""``POST /invocations``: every MLflow request format, over real HTTP, checked against the model."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from serving_helpers import IRIS_COLUMNS, Server, mixed_frame


def _rows(iris_frame: Any, n: int = 5, start: int = 45) -> pd.DataFrame:
    return iris_frame[0].iloc[start : start + n].reset_index(drop=True)


def _expected(estimator: Any, frame: pd.DataFrame) -> list[int]:
    return estimator.predict(frame).tolist()


@pytest.mark.parametrize(
    "make_body",
    [
        pytest.param(
            lambda f: {"dataframe_split": json.loads(f.to_json(orient="split", index=False))},
            id="dataframe_split",
        ),
        pytest.param(
            lambda f: {"dataframe_split": {"columns": list(f.columns), "data": f.values.tolist()}},
            id="dataframe_split-plain",
        ),
        pytest.param(lambda f: {"dataframe_records": f.to_dict(orient="records")}, id="records"),
        pytest.param(lambda f: {"instances": f.to_dict(orient="records")}, id="instances"),
        pytest.param(lambda f: {"inputs": f.to_dict(orient="list")}, id="inputs-columns"),
        pytest.param(lambda f: {"inputs": f.values.tolist()}, id="inputs-rows-by-position"),
    ],
)
def test_json_formats_predict_like_the_model(
    iris_server: Server, iris_frame: Any, iris_estimator: Any, make_body: Any
) -> None:
    frame = _rows(iris_frame)
    response = iris_server.client.post("/invocations", json=make_body(frame))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"predictions": _expected(iris_estimator, frame)}


def test_mlflow_client_style_request_with_explicit_headers(
    iris_server: Server, iris_frame: Any, iris_estimator: Any
) -> None:
    # what a client written for `mlflow models serve` sends: requests.post(data=..., headers=...)
    frame = _rows(iris_frame, 3)
    body = json.dumps({"dataframe_split": frame.to_dict(orient="split")})
    response = iris_server.client.post(
        "/invocations", content=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == _expected(iris_estimator, frame)


def test_missing_content_type_is_json(
    iris_server: Server, iris_frame: Any, iris_estimator: Any
) -> None:
    frame = _rows(iris_frame, 2)
    body = json.dumps({"dataframe_records": frame.to_dict(orient="records")}).encode()
    response = iris_server.client.post("/invocations", content=body, headers={"Content-Type": ""})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == _expected(iris_estimator, frame)


def test_csv_body(iris_server: Server, iris_frame: Any, iris_estimator: Any) -> None:
    frame = _rows(iris_frame, 7)
    response = iris_server.client.post(
        "/invocations", content=frame.to_csv(index=False), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == _expected(iris_estimator, frame)


def test_parquet_body(iris_server: Server, iris_frame: Any, iris_estimator: Any) -> None:
    frame = _rows(iris_frame, 6)
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    response = iris_server.client.post(
        "/invocations",
        content=buffer.getvalue(),
        headers={"Content-Type": "application/vnd.apache.parquet"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == _expected(iris_estimator, frame)


def test_mixed_string_and_number_columns(mixed_server: Server, mixed_estimator: Any) -> None:
    frame, _ = mixed_frame(8)
    body = {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    response = mixed_server.client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == mixed_estimator.predict(frame).tolist()


def test_ints_for_a_double_column_are_safely_converted(
    mixed_server: Server, mixed_estimator: Any
) -> None:
    record = {"city": "nice", "age": 40, "income": 3100}
    response = mixed_server.client.post("/invocations", json={"dataframe_records": [record]})
    assert response.status_code == 200, response.text
    expected = mixed_estimator.predict(pd.DataFrame([{**record, "income": 3100.0}]))
    assert response.json()["predictions"] == expected.tolist()


def test_float_for_a_long_column_is_refused_not_truncated(mixed_server: Server) -> None:
    record = {"city": "nice", "age": 1.7, "income": 3100.0}
    response = mixed_server.client.post("/invocations", json={"dataframe_records": [record]})
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "BAD_REQUEST"
    assert "age" in body["message"]


def test_csv_keeps_string_columns_as_strings(mixed_server: Server, mixed_estimator: Any) -> None:
    frame, _ = mixed_frame(4)
    frame.loc[0, "city"] = "123"  # looks like a number, is a city
    response = mixed_server.client.post(
        "/invocations", content=frame.to_csv(index=False), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == mixed_estimator.predict(frame).tolist()


def test_onnx_tensor_input_returns_every_named_output(onnx_server: Server, iris_frame: Any) -> None:
    rows = iris_frame[0].iloc[[0, 60, 120]].to_numpy().tolist()
    for body in ({"inputs": rows}, {"instances": rows}, {"inputs": {"input": rows}}):
        response = onnx_server.client.post("/invocations", json=body)
        assert response.status_code == 200, response.text
        predictions = response.json()["predictions"]
        assert predictions["label"] == [0, 1, 2]
        probabilities = np.array(predictions["probabilities"])
        assert probabilities.shape == (3, 3)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_onnx_tensor_shape_mismatch_is_a_400(onnx_server: Server) -> None:
    response = onnx_server.client.post("/invocations", json={"inputs": [[1.0, 2.0, 3.0]]})
    assert response.status_code == 400
    assert "shape" in response.json()["message"]


def test_params_reach_the_model(pyfunc_server: Server) -> None:
    body = {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.5]]}, "params": {"scale": 2}}
    response = pyfunc_server.client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [2.0, 5.0]}
    body["params"] = {"offset": 1.0}  # defaults fill in the rest
    assert pyfunc_server.client.post("/invocations", json=body).json() == {
        "predictions": [2.0, 3.5]
    }


def test_bad_params_are_a_400(pyfunc_server: Server) -> None:
    body = {"inputs": {"x": [1.0]}, "params": {"scale": "big"}}
    response = pyfunc_server.client.post("/invocations", json=body)
    assert response.status_code == 400
    assert "scale" in response.json()["message"]
    body["params"] = [1, 2]
    assert pyfunc_server.client.post("/invocations", json=body).status_code == 400


def test_nan_in_and_out_the_way_mlflow_writes_it(pyfunc_server: Server) -> None:
    # Python clients send NaN tokens (json.dumps default); MLflow answers with NaN tokens too
    body = json.dumps({"inputs": {"x": [1.0, float("nan")]}})
    response = pyfunc_server.client.post(
        "/invocations", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert b"NaN" in response.content
    predictions = json.loads(response.content)["predictions"]
    assert predictions[0] == 1.0 and np.isnan(predictions[1])


def test_health_version_and_metadata(iris_server: Server) -> None:
    client = iris_server.client
    assert client.get("/ping").status_code == 200
    assert client.get("/health").status_code == 200
    version = client.get("/version")
    assert version.status_code == 200 and version.text.strip()
    meta = client.get("/metadata").json()
    assert meta["name"] == "iris" and meta["version"] == "1"
    assert "sklearn" in meta["flavors"]
    assert [c["name"] for c in meta["signature"]["inputs"]] == IRIS_COLUMNS


def test_openapi_describes_the_signature(iris_server: Server) -> None:
    doc = iris_server.client.get("/openapi.json").json()
    schema = doc["paths"]["/invocations"]["post"]["requestBody"]["content"]["application/json"]
    record = schema["schema"]["properties"]["dataframe_records"]["items"]
    assert list(record["properties"]) == IRIS_COLUMNS
    assert record["properties"]["sepal_length"]["type"] == "number"
    docs = iris_server.client.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text


def test_csv_integers_in_a_double_column_are_numbers(
    mixed_server: Server, mixed_estimator: Any
) -> None:
    # text has no integer type: "3100" in a double column is 3100.0, as in JSON
    csv = "city,age,income\nnice,40,3100\nparis,22,2000\n"
    response = mixed_server.client.post(
        "/invocations", content=csv, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    frame = pd.DataFrame({"city": ["nice", "paris"], "age": [40, 22], "income": [3100.0, 2000.0]})
    assert response.json()["predictions"] == mixed_estimator.predict(frame).tolist()
    text = "city,age,income\nnice,40,lots\n"  # still refused, naming the column
    response = mixed_server.client.post(
        "/invocations", content=text, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 400 and "income" in response.json()["message"]


def test_series_and_frame_answers_are_records_as_mlflow_writes_them(echo_server: Server) -> None:
    body = {
        "dataframe_split": {
            "columns": ["d", "s", "t", "y"],
            "data": [[1.0, "a", "2024-01-02T03:04:05", "aGk="], [2.0, "b", None, "AAE="]],
        }
    }
    frame = echo_server.client.post("/invocations", json=body).json()["predictions"]
    assert frame == [
        # bytes as MLflow's NumpyEncoder writes them: base64.encodebytes, newline included
        {"d": 1.0, "s": "a", "t": "2024-01-02T03:04:05", "y": "aGk=\n"},
        {"d": 2.0, "s": "b", "t": None, "y": "AAE=\n"},
    ]
    # MLflow's server answers a Series as the records of a one-column frame
    series = echo_server.client.post("/invocations", json={**body, "params": {"series": True}})
    assert series.status_code == 200, series.text
    assert series.json()["predictions"] == [{"s": "a"}, {"s": "b"}]


def test_a_value_too_large_to_be_exact_fails_alone_in_a_merged_batch(
    iris_server: Server, iris_frame: Any, iris_estimator: Any
) -> None:
    # merged, the column mixes the others' floats with this integer: it must be judged
    # as it is judged alone, never rounded into a batch
    import concurrent.futures

    frame = iris_frame[0]
    good_rows = frame.iloc[:1].to_dict(orient="records")
    bad_rows = [{**good_rows[0], "sepal_length": 2**60 + 1}]

    def post(rows: list[dict[str, Any]]) -> int:
        with httpx.Client(base_url=iris_server.url, timeout=30) as client:
            return client.post("/invocations", json={"dataframe_records": rows}).status_code

    bodies = [bad_rows if i % 2 else good_rows for i in range(40)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(post, bodies))
    assert statuses == [400 if i % 2 else 200 for i in range(40)]
