"""Bodies judged by what they decode to: nesting depth, and the size of their table."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from serving_helpers import IRIS_COLUMNS, Server

DECODED_LIMIT = 4_000_000


@pytest.fixture(scope="module")
def limited_server(start_server: Any, iris_model: Path) -> Server:
    """Iris, accepting tables of at most 4 MB decoded (bodies of up to 64 MB)."""
    server: Server = start_server(iris_model, "--max-decoded-bytes", str(DECODED_LIMIT))
    return server


def _assert_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error_code", "message"}
    assert "Traceback" not in response.text
    return body


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


ROW = "[[5.1, 3.5, 1.4, 0.2]]"
COLUMNS = '["sepal_length", "sepal_width", "petal_length", "petal_width"]'


@pytest.mark.parametrize(
    "body",
    [
        # within orjson's own limit (1,024), past Python's recursion limit downstream
        '{"inputs": ' + ROW + ', "params": {"a": ' + _nested(1000) + "}}",
        '{"dataframe_split": {"columns": ' + COLUMNS + ', "data": ' + _nested(1000) + "}}",
        '{"inputs": ' + _nested(1000) + "}",
        '{"instances": [{"sepal_length": ' + _nested(990) + "}]}",
        # past orjson's limit: the stdlib fallback decides
        '{"inputs": ' + ROW + ', "params": {"a": ' + _nested(5000) + "}}",
    ],
    ids=["params", "split-data", "inputs", "records", "params-5000"],
)
def test_json_nested_a_thousand_deep_is_a_400(iris_server: Server, body: str) -> None:
    response = iris_server.client.post(
        "/invocations", content=body, headers={"Content-Type": "application/json"}
    )
    message = _assert_error(response, 400)["message"]
    assert "levels deep" in message or "not valid JSON" in message
    assert iris_server.client.get("/ping").status_code == 200


def test_a_tensor_of_many_dimensions_is_still_accepted(onnx_server: Server) -> None:
    # depth 40 is far below the limit: refused by the model's signature, not by depth
    response = onnx_server.client.post("/invocations", json={"inputs": np.zeros([1] * 40).tolist()})
    assert response.status_code == 400
    assert "levels deep" not in response.text


def _peak_rss_kib(server: Server) -> int:
    status = Path(f"/proc/{server.proc.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))


def _parquet(frame: pd.DataFrame, **options: Any) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, **options)
    return buffer.getvalue()


def test_a_parquet_decompression_bomb_is_a_413_before_decoding(limited_server: Server) -> None:
    # 2M rows x 4 columns of zeros: 64 MB decoded, a few kilobytes compressed
    rows = 2_000_000
    bomb = _parquet(
        pd.DataFrame({name: np.zeros(rows) for name in IRIS_COLUMNS}), compression="zstd"
    )
    assert len(bomb) < 200_000
    before = _peak_rss_kib(limited_server)
    start = time.monotonic()
    response = limited_server.client.post(
        "/invocations",
        content=bomb,
        headers={"Content-Type": "application/vnd.apache.parquet"},
    )
    body = _assert_error(response, 413)
    assert body["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    assert "--max-decoded-bytes" in body["message"]
    assert time.monotonic() - start < 5
    # the table was never built: the server's peak memory did not grow by its 64 MB
    assert _peak_rss_kib(limited_server) - before < 32 * 1024


@pytest.mark.parametrize(
    "options", [{"compression": "zstd"}, {"compression": "snappy", "use_dictionary": False}]
)
def test_a_parquet_body_within_the_limit_is_scored(
    limited_server: Server, iris_frame: Any, options: dict[str, Any]
) -> None:
    frame, _ = iris_frame
    response = limited_server.client.post(
        "/invocations",
        content=_parquet(frame, **options),
        headers={"Content-Type": "application/vnd.apache.parquet"},
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == len(frame)


def test_a_csv_of_empty_fields_is_judged_by_its_values(limited_server: Server) -> None:
    # 1 byte a value sent, 8 bytes a value decoded: 1.2 MB of commas is 9.6 MB of NaN
    header = ",".join(IRIS_COLUMNS).encode() + b"\n"
    body = header + b",,,\n" * 300_000
    response = limited_server.client.post(
        "/invocations", content=body, headers={"Content-Type": "text/csv"}
    )
    assert "--max-decoded-bytes" in _assert_error(response, 413)["message"]
    small = header + b"5.1,3.5,1.4,0.2\n" * 10
    response = limited_server.client.post(
        "/invocations", content=small, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text


def test_a_csv_header_of_too_many_columns_is_refused_before_pandas_reads_it(
    iris_server: Server,
) -> None:
    # pandas spends seconds on a header of tens of thousands of columns
    wide = ",".join(IRIS_COLUMNS + [f"extra{i}" for i in range(12_000)]).encode()
    response = iris_server.client.post(
        "/invocations", content=wide + b"\n", headers={"Content-Type": "text/csv"}
    )
    assert "more than 10000 columns" in _assert_error(response, 400)["message"]
    # a wide table that is not hostile still works: 2,000 unused columns
    some = ",".join(IRIS_COLUMNS + [f"extra{i}" for i in range(2_000)]).encode()
    row = b"5.1,3.5,1.4,0.2" + b",0" * 2_000
    response = iris_server.client.post(
        "/invocations", content=some + b"\n" + row + b"\n", headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text


def test_a_json_body_of_many_small_values_is_judged_by_its_values(limited_server: Server) -> None:
    row = "[0,0,0,0]"
    body = '{"inputs": [' + ",".join([row] * 150_000) + "]}"  # 1.5 MB, 600k values
    response = limited_server.client.post(
        "/invocations", content=body, headers={"Content-Type": "application/json"}
    )
    assert "--max-decoded-bytes" in _assert_error(response, 413)["message"]


def test_brackets_inside_strings_are_not_nesting(mixed_server: Server) -> None:
    # 300 brackets in a text value: counted as nesting they would pass the limit
    body = {
        "dataframe_split": {
            "columns": ["city", "age", "income"],
            "data": [["[" * 300, 30, 2500.0], ["]}" * 150, 40, 3500.0]],
        }
    }
    response = mixed_server.client.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 2


def _hidden(levels: int) -> str:
    """Arrays nested 50 deep per level; in each, a string of 50 closing brackets before
    the next level and one of 50 opening brackets after it: the brackets of the text
    alone look balanced and only 50 deep."""
    if not levels:
        return "1"
    inner = _hidden(levels - 1)
    return "[" * 50 + '"' + "]" * 50 + '", ' + inner + ', "' + "[" * 50 + '"' + "]" * 50


def test_strings_cannot_hide_nesting(iris_server: Server) -> None:
    body = '{"inputs": ' + ROW + ', "params": {"a": ' + _hidden(20) + "}}"  # 1,000 deep
    response = iris_server.client.post(
        "/invocations", content=body, headers={"Content-Type": "application/json"}
    )
    assert "levels deep" in _assert_error(response, 400)["message"]
