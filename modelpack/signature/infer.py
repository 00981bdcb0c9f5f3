"""Infer a signature from example data: pandas, numpy, dicts, records, lists and scalars."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from modelpack.errors import SchemaError
from modelpack.signature.schema import (
    ColSpec,
    DataType,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
)

_NONE = type(None)
_DATETIMES = (dt.datetime, dt.date, np.datetime64)


def infer_signature(
    inputs: Any = None, outputs: Any = None, params: Mapping[str, Any] | None = None
) -> ModelSignature:
    """Infer a :class:`ModelSignature` from example inputs, outputs and params.

    - DataFrame, Series, dict of lists/scalars, list of dicts (records), a list of
      scalars or a scalar give a column schema; a column with missing values is
      ``required=False``.
    - ndarray, dict of ndarrays and list of lists give a tensor schema whose first
      dimension is free (``-1``).
    - ``params`` maps names to defaults; a list default makes a ``(-1,)`` param.

    Choices where no lossless type exists (each is a :class:`SchemaError` naming the
    column and the cast to make, never a silent "no signature"):

    - ``uint64`` (numpy or ``UInt64``): neither long nor double holds every value.
    - integer columns with missing values: ``Int8``-``Int32`` and ``UInt8``-``UInt32``
      (and object ints with None) become ``double``, which holds them exactly;
      ``Int64`` with missing values is refused (long cannot hold missing values,
      double cannot hold every int64).
    - tz-aware datetimes, timedeltas, categoricals, and object columns mixing types.

    Example::

        >>> import pandas as pd
        >>> sig = infer_signature(pd.DataFrame({"x": [1.5, None], "n": [1, 2]}))
        >>> sig.inputs.to_list()
        [{'type': 'double', 'name': 'x', 'required': False}, {'type': 'long', 'name': 'n', 'required': True}]
    """
    return ModelSignature(
        inputs=None if inputs is None else infer_schema(inputs),
        outputs=None if outputs is None else infer_schema(outputs),
        params=None if params is None else infer_param_schema(params),
    )


def infer_schema(data: Any) -> Schema:
    """Infer the :class:`Schema` of one example (see :func:`infer_signature`).

    >>> import numpy as np
    >>> infer_schema(np.zeros((3, 4), dtype="float32")).to_list()
    [{'type': 'tensor', 'tensor-spec': {'dtype': 'float32', 'shape': [-1, 4]}}]
    """
    if isinstance(data, pd.DataFrame):
        return Schema([_infer_series(name, data.iloc[:, i]) for i, name in _frame_names(data)])
    if isinstance(data, pd.Series):
        name = data.name if isinstance(data.name, str) else None
        return Schema([_infer_series(name, data)])
    if isinstance(data, np.ndarray):
        if data.ndim == 0:
            return Schema([_infer_list(None, [data.item()])])
        return Schema([_tensor_spec(None, data)])
    if isinstance(data, Mapping):
        return _infer_dict(data)
    if isinstance(data, (list, tuple)):
        return _infer_sequence(data)
    return Schema([_infer_list(None, [data])])


def infer_param_schema(params: Mapping[str, Any]) -> ParamSchema:
    """Infer a :class:`ParamSchema` from ``{name: default}``.

    >>> infer_param_schema({"k": 3, "tags": ["a"]}).to_list()
    [{'name': 'k', 'type': 'long', 'default': 3, 'shape': None}, {'name': 'tags', 'type': 'string', 'default': ['a'], 'shape': [-1]}]
    """
    if not isinstance(params, Mapping):
        raise SchemaError(f"params must be a dict of name to default, got {type(params).__name__}")
    specs = []
    for name, value in params.items():
        if not isinstance(name, str):
            raise SchemaError("param names must be strings")
        if isinstance(value, np.ndarray) and value.ndim == 1:
            value = value.tolist()
        if isinstance(value, (list, tuple)):
            if not value:
                raise SchemaError(f"param '{name}': cannot infer a type from an empty list")
            types = {_param_type(name, v) for v in value}
            if types == {DataType.long, DataType.double}:
                types = {DataType.double}
            if len(types) != 1:
                raise SchemaError(f"param '{name}': the list mixes types — use one type")
            specs.append(ParamSpec(name, types.pop(), list(value), (-1,)))
        else:
            specs.append(ParamSpec(name, _param_type(name, value), value))
    return ParamSchema(specs)


def _param_type(name: str, value: Any) -> DataType:
    if isinstance(value, bool):
        return DataType.boolean
    if isinstance(value, int):
        return DataType.long
    if isinstance(value, float):
        return DataType.double
    if isinstance(value, str):
        return DataType.string
    if isinstance(value, (dt.datetime, dt.date)):
        return DataType.datetime
    if isinstance(value, np.generic):
        found = DataType.from_numpy(value.dtype)
        if found is not None:
            return found
    raise SchemaError(
        f"param '{name}': cannot infer a type from {type(value).__name__} — "
        "use bool, int, float, str, datetime, or a list of one of them"
    )


def _frame_names(df: pd.DataFrame) -> list[tuple[int, str | None]]:
    labels = list(df.columns)
    if all(isinstance(label, str) for label in labels):
        return list(enumerate(labels))
    if labels == list(range(len(labels))):
        return [(i, None) for i in range(len(labels))]
    raise SchemaError(
        "DataFrame column names must all be strings (or the default 0..n-1 for "
        "an unnamed schema) — rename the columns, e.g. df.columns = df.columns.astype(str)"
    )


def _tensor_spec(name: str | None, arr: np.ndarray) -> TensorSpec:
    dtype = arr.dtype
    if dtype.kind in "US":
        dtype = np.dtype(dtype.kind)  # strip the length: '<U7' -> '<U0', as MLflow does
    return TensorSpec(dtype, (-1, *arr.shape[1:]), name)


def _infer_dict(data: Mapping[Any, Any]) -> Schema:
    if not data:
        raise SchemaError("cannot infer a schema from an empty dict")
    if not all(isinstance(k, str) for k in data):
        raise SchemaError("dict keys must be strings to name the inputs")
    if all(isinstance(v, np.ndarray) and v.ndim > 0 for v in data.values()):
        return Schema([_tensor_spec(name, v) for name, v in data.items()])
    specs = []
    for name, value in data.items():
        if isinstance(value, pd.Series):
            specs.append(_infer_series(name, value))
        elif isinstance(value, np.ndarray) and value.ndim == 1:
            specs.append(_infer_array(name, value))
        elif isinstance(value, (list, tuple)):
            specs.append(_infer_list(name, value))
        elif isinstance(value, (np.ndarray, Mapping, set)):
            raise SchemaError(
                f"column '{name}': a dict mixing arrays with other values has no schema — "
                "use all ndarrays (tensors) or 1-D lists (columns)"
            )
        else:
            specs.append(_infer_list(name, [value]))
    return Schema(specs)


def _infer_sequence(data: Sequence[Any]) -> Schema:
    if not data:
        raise SchemaError("cannot infer a schema from an empty list")
    if all(isinstance(r, Mapping) for r in data):
        names: dict[Any, None] = {}
        for record in data:
            names.update(dict.fromkeys(record))
        if not all(isinstance(k, str) for k in names):
            raise SchemaError("record keys must be strings to name the columns")
        return Schema([_infer_list(k, [r.get(k) for r in data]) for k in names])
    if all(isinstance(r, (list, tuple, np.ndarray)) for r in data):
        try:
            arr = np.asarray(data)
        except ValueError:
            arr = np.empty(0, dtype=object)
        if arr.dtype == object or arr.ndim < 2:
            raise SchemaError("a list of lists must be rectangular and of one numeric type")
        return Schema([_tensor_spec(None, arr)])
    return Schema([_infer_list(None, list(data))])


def _infer_series(name: str | None, series: pd.Series) -> ColSpec:
    dtype = series.dtype
    if isinstance(dtype, np.dtype):
        return _infer_array(name, series.to_numpy())
    where = f"column '{name}'" if name is not None else "the column"
    if isinstance(dtype, pd.StringDtype):
        return ColSpec(DataType.string, name, not series.hasnans)
    if isinstance(dtype, pd.DatetimeTZDtype):
        raise SchemaError(
            f"{where}: tz-aware datetimes ({dtype}) are not a signature type — "
            "convert to naive UTC first: s.dt.tz_convert(None)"
        )
    if isinstance(dtype, pd.CategoricalDtype):
        raise SchemaError(
            f"{where}: categorical columns are not a signature type — "
            "cast to the categories' type first: s.astype(s.cat.categories.dtype)"
        )
    np_dtype = getattr(dtype, "numpy_dtype", None)  # nullable (masked) and Arrow dtypes
    found = None if np_dtype is None else DataType.from_numpy(np_dtype)
    if found is None:
        raise _no_type(where, str(dtype))
    has_na = bool(series.hasnans)
    if has_na and found in (DataType.integer, DataType.long):
        found = _double_for_missing_ints(where, np.dtype(np_dtype), str(dtype))
    return ColSpec(found, name, not has_na)


def _double_for_missing_ints(where: str, np_dtype: np.dtype[Any], label: str) -> DataType:
    if np_dtype.itemsize <= 4:  # up to 32 bits: float64 holds every value exactly
        return DataType.double
    raise SchemaError(
        f"{where}: {label} with missing values has no lossless signature type (long "
        "cannot hold missing values, double cannot hold every int64) — fill the missing "
        "values, or cast to float64 if every value is below 2**53"
    )


def _no_type(where: str, label: str) -> SchemaError:
    if label.lower() == "uint64":
        return SchemaError(
            f"{where}: uint64 has no lossless signature type (long stops at 2**63, double "
            "at 2**53) — cast to int64 if the values fit, or to float64 if rounding is fine"
        )
    return SchemaError(
        f"{where}: {label} is not a signature type — cast to bool, int, float, str, "
        "bytes or naive datetime64"
    )


def _infer_array(name: str | None, arr: np.ndarray) -> ColSpec:
    where = f"column '{name}'" if name is not None else "the column"
    if arr.ndim != 1:
        raise SchemaError(f"{where}: a column must be 1-D, got {arr.ndim} dimensions")
    if arr.dtype.kind == "O":
        return _infer_objects(name, where, arr)
    found = DataType.from_numpy(arr.dtype)
    if found is None:
        raise _no_type(where, str(arr.dtype))
    if arr.dtype.kind == "f":
        missing = bool(np.isnan(arr).any())
    elif arr.dtype.kind == "M":
        missing = bool(np.isnat(arr).any())
    else:
        missing = False
    return ColSpec(found, name, not missing)


def _infer_objects(name: str | None, where: str, arr: np.ndarray) -> ColSpec:
    inferred = pd.api.types.infer_dtype(arr, skipna=True)
    missing = bool(pd.isna(arr).any())
    if inferred == "integer":
        if missing:
            return ColSpec(DataType.double, name, False)
        return ColSpec(DataType.long, name, True)
    simple = {
        "string": DataType.string,
        "bytes": DataType.binary,
        "boolean": DataType.boolean,
        "floating": DataType.double,
        "mixed-integer-float": DataType.double,
    }
    if inferred in simple:
        return ColSpec(simple[inferred], name, not missing)
    if inferred in ("datetime", "datetime64", "date"):
        try:
            tz = pd.to_datetime(arr).tz
        except (TypeError, ValueError):
            tz = "mixed"
        if tz is not None:
            raise SchemaError(
                f"{where}: tz-aware datetimes are not a signature type — "
                "convert them to naive UTC first"
            )
        return ColSpec(DataType.datetime, name, not missing)
    if inferred == "empty":
        raise SchemaError(f"{where}: every value is missing, so its type cannot be inferred")
    raise SchemaError(
        f"{where}: the values are of mixed or unsupported types ({inferred}) — "
        "make every value one type, e.g. with .astype(str)"
    )


def _infer_list(name: str | None, values: Sequence[Any]) -> ColSpec:
    where = f"column '{name}'" if name is not None else "the column"
    types = set(map(type, values))
    core = types - {_NONE}
    if core and core <= {int}:
        ints = [v for v in values if v is not None]
        if min(ints) < -(2**63) or max(ints) >= 2**63:
            raise SchemaError(f"{where}: integers beyond int64 have no signature type")
        if _NONE in types:
            return ColSpec(DataType.double, name, False)
        return ColSpec(DataType.long, name, True)
    if core and all(issubclass(t, _DATETIMES) for t in core):
        if any(getattr(v, "tzinfo", None) is not None for v in values):
            raise SchemaError(
                f"{where}: tz-aware datetimes are not a signature type — "
                "convert them to naive UTC first"
            )
        return ColSpec(DataType.datetime, name, _NONE not in types)
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return _infer_objects(name, where, arr)


__all__ = ["infer_param_schema", "infer_schema", "infer_signature"]
