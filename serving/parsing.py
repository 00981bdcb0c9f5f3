"""MLflow's ``/invocations`` request formats, turned into model input and params.

JSON bodies carry exactly one of ``dataframe_split``, ``dataframe_records``,
``instances`` or ``inputs``, plus optional ``params``; ``text/csv`` and
``application/vnd.apache.parquet`` bodies are one table. Column data is returned as a
``{column: list}`` mapping (no pandas for a one-row request); tensor data as ndarrays.
Signature enforcement happens afterwards, in ``PyFuncModel.prepare_input``.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import numpy as np
import orjson
from starlette.exceptions import HTTPException

from modelpack.errors import InvalidInput, SchemaError
from modelpack.serving.body_limits import (
    check_csv_columns,
    check_json_depth,
    check_text_table,
    parquet_decoded_bytes,
    too_large,
)

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
JSON_TYPE = "application/json"
CSV_TYPE = "text/csv"
PARQUET_TYPE = "application/vnd.apache.parquet"
_PARQUET_ALIASES = {PARQUET_TYPE, "application/x-parquet", "application/parquet"}
_is_str = str.__instancecheck__  # isinstance(value, str), usable by map()
_REQUIRED = (
    "the request body must be a JSON object with exactly one of the fields "
    "'dataframe_split', 'dataframe_records', 'instances', 'inputs' (and optionally 'params')"
)


def media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type`` header; a missing header means JSON.

    >>> media_type("application/json; charset=utf-8")
    'application/json'
    """
    if content_type == JSON_TYPE or not content_type or not content_type.strip():
        return JSON_TYPE
    mime, _, rest = content_type.partition(";")
    for part in rest.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise HTTPException(415, "the scoring server only accepts UTF-8 request bodies")
    mime = mime.strip().lower()
    if mime in _PARQUET_ALIASES:
        return PARQUET_TYPE
    if mime in (JSON_TYPE, CSV_TYPE):
        return mime
    raise HTTPException(
        415,
        "unsupported Content-Type; send application/json, text/csv or "
        "application/vnd.apache.parquet",
    )


def is_parquet(content_type: str | None) -> bool:
    """Whether ``content_type`` names a parquet body (an unsupported one is judged later)."""
    if not content_type or content_type == JSON_TYPE:
        return False
    try:
        return media_type(content_type) == PARQUET_TYPE
    except HTTPException:
        return False


def parse_request(
    body: bytes,
    content_type: str | None,
    input_schema: Any = None,
    max_decoded_bytes: int | None = None,
) -> tuple[Any, Any]:
    """``(data, params)`` from an ``/invocations`` body, ready for ``prepare_input``.

    A body whose table would decode to more than ``max_decoded_bytes`` is refused
    with a 413 before it is decoded (see :mod:`body_limits`).

    >>> parse_request(b'{"inputs": [[1, 2]]}', "application/json")[0].shape
    (1, 2)
    """
    mime = media_type(content_type)
    if mime == CSV_TYPE:
        check_text_table(body, max_decoded_bytes, "the CSV body")
        check_csv_columns(body)
        return parse_csv(body, input_schema), None
    if mime == PARQUET_TYPE:
        return parse_parquet(body, max_decoded_bytes), None
    check_text_table(body, max_decoded_bytes, "the JSON body")
    return parse_json_body(loads(body), input_schema)


#: a run of digits that may be an integer too wide for orjson to keep exact (2**64 has 20)
_LONG_DIGITS = re.compile(rb"[0-9]{20}")


def loads(body: bytes) -> Any:
    """Decode JSON; ``NaN`` and ``Infinity`` are accepted as MLflow's server accepts them.

    A document nested deeper than ``body_limits.MAX_JSON_DEPTH`` is refused here, once
    for every route, so nothing that walks it later can run out of stack.
    """
    if _LONG_DIGITS.search(body) is None:
        try:
            doc = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # perhaps NaN or Infinity, which orjson refuses: stdlib json judges
        else:
            check_json_depth(body, doc)
            return doc
    # Also here: a run of 20 digits. orjson reads an integer past 64 bits as a float,
    # silently changing it; stdlib json keeps it exact, and enforcement then refuses what
    # the column cannot hold.
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"request body is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:  # undecodable bytes; nesting too deep
        raise InvalidInput(f"request body is not valid JSON ({type(exc).__name__})") from None
    if _has_lone_surrogate(doc):
        # "\ud800" alone is no character: orjson refused it, and a name or value holding
        # it could not be written back into any answer or log line
        raise InvalidInput(
            "request body is not valid JSON (a \\u escape names half of a UTF-16 "
            "surrogate pair, which is not a character)"
        )
    check_json_depth(body, doc)
    return doc


def _has_lone_surrogate(doc: Any) -> bool:
    """Whether a string anywhere in ``doc`` holds half a surrogate pair (only stdlib json,
    the fallback, lets one through)."""
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except (ValueError, RecursionError):  # nesting too deep to re-encode: judged elsewhere
        return False
    return False


def parse_json_body(doc: Any, input_schema: Any = None) -> tuple[Any, Any]:
    """``(data, params)`` from a decoded MLflow scoring request."""
    if not isinstance(doc, dict):
        raise InvalidInput(f"{_REQUIRED}; got a JSON {_json_kind(doc)}")
    present = list(filter(doc.__contains__, FORMATS))  # C-level: no comprehension frame
    if len(present) != 1:
        got = ", ".join(present) if present else "none of them"
        raise InvalidInput(f"{_REQUIRED}; got {got}")
    params = doc.get("params")
    if params is not None and not isinstance(params, dict):
        raise InvalidInput(f"'params' must be a JSON object, got a JSON {_json_kind(params)}")
    key = present[0]
    value = doc[key]
    if key in ("dataframe_split", "dataframe_records"):
        columns = _split(value) if key == "dataframe_split" else _records(value, key)
        return _table(columns, input_schema), params
    if key == "instances" and isinstance(value, list) and value and isinstance(value[0], dict):
        return _tensors(_records(value, key), input_schema), params
    return _tensors(value, input_schema), params


def _table(columns: Any, input_schema: Any) -> Any:
    """A table as the model's signature wants it: columns checked by enforcement, a
    DataFrame for a model without a signature (as MLflow gives it), rows for one tensor."""
    if input_schema is None:
        import pandas as pd

        return columns if isinstance(columns, pd.DataFrame) else pd.DataFrame(columns)
    if (
        input_schema.is_tensor_spec()
        and len(input_schema.inputs) == 1
        and isinstance(columns, dict)
    ):
        return [list(row) for row in zip(*columns.values(), strict=True)]
    return columns


def _json_kind(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _split(value: Any) -> Any:
    if not isinstance(value, dict):
        raise InvalidInput(
            "'dataframe_split' must be an object with 'columns' and 'data', got a JSON "
            + _json_kind(value)
        )
    data = value.get("data")
    columns = value.get("columns")
    if not isinstance(data, list):
        raise InvalidInput("'dataframe_split' must have 'data': a list of rows")
    if columns is None:
        return _rows(data)
    if not isinstance(columns, list) or not all(map(_is_str, columns)):
        raise InvalidInput("'dataframe_split.columns' must be a list of column names")
    if len(set(columns)) != len(columns):
        raise InvalidInput("'dataframe_split.columns' has a column name twice")
    width = len(columns)
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != width:
            raise InvalidInput(
                f"'dataframe_split.data' row {i} must be a list of {width} values, one per column"
            )
    if not data:
        return {name: [] for name in columns}
    # transposed by zip: one C-level pass instead of a comprehension per column (every
    # row was checked to hold one value per column, so neither zip needs strict=True)
    return dict(zip(columns, map(list, zip(*data))))  # noqa: B905


def _rows(data: list[Any]) -> list[Any]:
    widths = {len(row) if isinstance(row, list) else -1 for row in data}
    if -1 in widths or len(widths) > 1:
        raise InvalidInput("'dataframe_split.data' must be a list of rows of equal length")
    return data


def _records(value: Any, key: str) -> dict[str, list[Any]]:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise InvalidInput(f"'{key}' must be a list of objects mapping column name to value")
    if len(value) == 1:
        return {name: [v] for name, v in value[0].items()}
    columns: dict[str, list[Any]] = {}
    for i, record in enumerate(value):
        for name in record:
            if name not in columns:
                columns[name] = [None] * i
        for name, column in columns.items():
            column.append(record.get(name))
    return columns


def _tensors(value: Any, input_schema: Any) -> Any:
    """``instances``/``inputs`` values: as sent when a signature will check them, else ndarrays.

    Enforcement turns JSON lists into the declared dtypes losslessly; without a
    signature the model gets what MLflow gives it (an ndarray or a dict of ndarrays).
    """
    if input_schema is not None:
        return value
    if isinstance(value, dict):
        return {str(k): _array(v, str(k)) for k, v in value.items()}
    return _array(value, "inputs")


def _array(value: Any, where: str) -> np.ndarray[Any, Any]:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        raise SchemaError(f"input '{where}' is not a rectangular array") from None
    if array.dtype == object and isinstance(value, list):
        raise SchemaError(f"input '{where}' is ragged or mixes types; send a rectangular array")
    return array


def parse_csv(body: bytes, input_schema: Any = None) -> Any:
    """A DataFrame from a CSV body, typed where the signature declares a column.

    String columns stay strings, and float and double columns are read as numbers of
    that type: text has no integer type, so ``2000`` in a double column is the number
    2000.0, as the batch scorer reads it, not an int64 column that enforcement refuses.
    """
    import pandas as pd

    declared = _csv_types(input_schema)
    try:
        try:
            return pd.read_csv(io.BytesIO(body), dtype=declared or None)
        except ValueError:
            # a numeric column holding text: read it untyped, and enforcement names the
            # column and what it holds
            strings = {k: v for k, v in declared.items() if v is str}
            return pd.read_csv(io.BytesIO(body), dtype=strings or None)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"request body is not valid CSV ({type(exc).__name__})") from None


def _csv_types(input_schema: Any) -> dict[str, Any]:
    """``read_csv`` types for the signature's string, float and double columns."""
    types = {"string": str, "float": "float32", "double": "float64"}
    declared = column_type_names(input_schema).items()
    return {name: types[kind] for name, kind in declared if kind in types}


def column_type_names(input_schema: Any) -> dict[str, str]:
    """Each named column's declared type (``'double'``, ``'string'``...); empty for a
    tensor signature or none."""
    if input_schema is None or input_schema.is_tensor_spec():
        return {}
    return {
        spec.name: str(getattr(spec.type, "name", spec.type))
        for spec in input_schema.inputs
        if getattr(spec, "name", None)
    }


def parse_parquet(body: bytes, max_decoded_bytes: int | None = None) -> Any:
    """A DataFrame from a parquet body; refused with a 413, from its footer alone, if it
    would decode to more than ``max_decoded_bytes``."""
    import pandas as pd

    try:
        if max_decoded_bytes is not None:
            estimate = parquet_decoded_bytes(body)
            if estimate > max_decoded_bytes:
                raise too_large(estimate, max_decoded_bytes, "the parquet body")
        return pd.read_parquet(io.BytesIO(body))
    except HTTPException:
        raise
    except Exception as exc:  # pyarrow raises several unrelated types for a corrupt file
        raise InvalidInput(
            f"request body is not a valid parquet file ({type(exc).__name__})"
        ) from None


__all__ = [
    "CSV_TYPE",
    "FORMATS",
    "JSON_TYPE",
    "PARQUET_TYPE",
    "column_type_names",
    "is_parquet",
    "loads",
    "media_type",
    "parse_csv",
    "parse_json_body",
    "parse_parquet",
    "parse_request",
]
