"""Predictions to JSON bytes, byte for byte the way MLflow's scoring server writes them.

DataFrames, and a Series answered as a whole, become a list of records; arrays become
(nested) lists, a dict of arrays stays a dict. ``/invocations`` bodies are written as
MLflow's ``json.dump`` writes them (``", "`` and ``": "`` separators, ASCII escapes,
``NaN``/``Infinity`` tokens, float32 values as the doubles they are); class labels, the
common answer, take a faster orjson path that gives the same bytes. Other bodies (V2,
errors) use :func:`dumps`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

import numpy as np
import orjson

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def json_value(obj: Any) -> Any:
    """What a value orjson cannot write itself becomes in a response: base64 for bytes,
    ISO 8601 for times, null for pandas' missing markers; TypeError for anything else."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (bytes, bytearray)):
        import base64

        return base64.b64encode(obj).decode("ascii")
    if type(obj).__name__ in ("NAType", "NaTType"):  # before isoformat: NaT has one
        return None
    if isinstance(obj, (dt.datetime, dt.date)):
        return obj.isoformat()
    if hasattr(obj, "isoformat"):  # pandas Timestamp
        return obj.isoformat()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot encode {type(obj).__name__} as JSON")


def mlflow_json_value(obj: Any) -> Any:
    """:func:`json_value` as MLflow's ``NumpyEncoder`` writes ``/invocations`` answers:
    bytes as ``base64.encodebytes`` makes them (a newline after every 76 characters and
    one at the end). A ``numpy.datetime64`` stays ``.item()`` (an int for ns units), as
    MLflow's ``np.generic`` branch, checked first, makes it."""
    if isinstance(obj, (bytes, bytearray)):
        import base64

        return base64.encodebytes(obj).decode("ascii")
    return json_value(obj)


def json_value_or_text(obj: Any) -> Any:
    """:func:`json_value`, or the value's text for what has no JSON form (a Decimal
    keeps its exact digits that way): for writing values out, never for refusing."""
    try:
        return json_value(obj)
    except TypeError:
        return str(obj)


def jsonable(obj: Any) -> Any:
    """``obj`` with pandas objects replaced by what MLflow sends (records, lists).

    >>> jsonable({"a": np.arange(2)})["a"]
    array([0, 1])
    """
    kind = type(obj).__name__
    if kind == "DataFrame":
        if not all(isinstance(c, str) for c in obj.columns):
            obj = obj.rename(columns=str)  # JSON keys are text, as json.dumps makes them
        return obj.to_dict(orient="records")
    if kind in ("Series", "Index", "Categorical"):
        return obj.tolist()
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


def has_nonfinite(obj: Any) -> bool:
    """Whether a NaN or infinity hides anywhere in ``obj`` (as returned by :func:`jsonable`)."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc":
            return not bool(np.isfinite(obj).all())
        if obj.dtype == object:
            return any(has_nonfinite(v) for v in obj.ravel().tolist())
        return False
    if isinstance(obj, float):
        return not math.isfinite(obj)
    if isinstance(obj, np.floating):
        return not bool(np.isfinite(obj))
    if isinstance(obj, dict):
        return any(has_nonfinite(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return any(has_nonfinite(v) for v in obj)
    return False


def dumps(doc: Any) -> bytes:
    """JSON bytes for ``doc`` (already :func:`jsonable`), NaN written as MLflow writes it.

    >>> dumps({"predictions": np.array([1.0, np.nan])})
    b'{"predictions": [1.0, NaN]}'
    """
    if has_nonfinite(doc):
        return json.dumps(doc, default=json_value, allow_nan=True).encode()
    return orjson.dumps(doc, default=json_value, option=_NUMPY)


#: a number orjson writes otherwise than Python's repr: below 1e-4 in plain decimals
#: (0.00001 for 1e-05), or with a one-digit exponent (1.5e-7 for 1.5e-07); the digits
#: are the same shortest round trip, only the layout differs
_NOT_REPR = re.compile(rb"(?<=[\[,])(?:-?0\.0000\d*|-?[\d.]+e[-+]?\d+)(?=[,\]])")


def _repr_text(match: re.Match[bytes]) -> bytes:
    return repr(float(match.group())).encode()


def _float_array_body(arr: np.ndarray[Any, Any]) -> bytes | None:
    """A finite float array as ``json.dumps(arr.tolist())`` writes it, at orjson's speed;
    None when stdlib json must judge (NaN, infinity, a scalar)."""
    if arr.ndim == 0:
        return None
    if arr.dtype != np.float64 or not arr.flags.c_contiguous:
        arr = np.ascontiguousarray(arr, dtype=np.float64)
    body = orjson.dumps(arr, option=_NUMPY)
    if b"null" in body:  # orjson's NaN and infinity; MLflow writes NaN, Infinity
        return None
    if b"e" in body or b"0.0000" in body:
        body = _NOT_REPR.sub(_repr_text, body)
    return body.replace(b",", b", ")


def encode_predictions(predictions: Any) -> bytes:
    """The ``/invocations`` response body for a model's output, byte for byte what
    MLflow's scoring server writes (``json.dump`` with its default separators and ASCII
    escapes; float32 values written as the doubles they are).

    >>> encode_predictions(np.array([0, 2]))
    b'{"predictions": [0, 2]}'
    """
    if (
        isinstance(predictions, np.ndarray)
        and predictions.dtype.kind in "biu"
        and predictions.ndim > 0  # orjson refuses 0-d, strided and byte-swapped arrays
        and predictions.flags.c_contiguous
        and predictions.dtype.isnative
    ):
        # class labels, the common answer: orjson writes integers as json does, and the
        # only commas in a list of numbers are the separators
        body = orjson.dumps(predictions, option=_NUMPY).replace(b",", b", ")
        return b'{"predictions": ' + body + b"}"
    if isinstance(predictions, np.ndarray) and predictions.dtype.kind == "f":
        floats = _float_array_body(predictions)  # a regressor's answer
        if floats is not None:
            return b'{"predictions": ' + floats + b"}"
    if type(predictions).__name__ == "Series":
        # MLflow's server answers a Series as the records of a one-column frame:
        # [{"name": value}, ...], with the column named "0" when the Series has no name
        predictions = predictions.to_frame(0 if predictions.name is None else predictions.name)
    doc = {"predictions": jsonable(predictions)}
    return json.dumps(doc, default=mlflow_json_value, allow_nan=True).encode()


__all__ = [
    "dumps",
    "encode_predictions",
    "has_nonfinite",
    "json_value",
    "json_value_or_text",
    "jsonable",
    "mlflow_json_value",
]
