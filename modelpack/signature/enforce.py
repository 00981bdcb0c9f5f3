"""Enforce a signature on prediction input: the one check every entry point calls.

Typed data (numpy arrays, pandas columns) is converted only where no value can change
(int32 -> long, float32 -> double, ...). Untyped data (Python lists and object
columns, e.g. parsed JSON) carries no width, so its numbers take the declared width
when they fit exactly (ints range-checked; a decimal number may be stored as float32
for a float column); a float is still never turned into an integer. Datetime columns
keep their unit (s, ms, us, ns): converting to ns could overflow. ISO 8601 text is
read for datetime columns and base64 text for binary columns, as JSON has neither.

Column inputs are mapped to columns here and each column converted by ``_convert``;
tensors are enforced in ``_enforce_tensor`` and params in ``_params``
(``enforce_params`` is re-exported from this module).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import pandas as pd

from modelpack.errors import SchemaError
from modelpack.signature._checks import quoted
from modelpack.signature._convert import conforms, convert_series, convert_value, where
from modelpack.signature._enforce_tensor import enforce_tensors
from modelpack.signature._params import enforce_params
from modelpack.signature.schema import ColSpec, Schema, TensorSpec


def enforce_schema(data: Any, schema: Schema) -> Any:
    """Check ``data`` against ``schema`` and return it converted, or raise :class:`SchemaError`.

    Column schema: returns a DataFrame with the schema's columns in schema order (extra
    columns dropped; an absent optional column is left out). Accepts a DataFrame,
    Series, dict of lists/arrays/scalars, records (list of dicts), or a 2-D array /
    list of rows matched by position. Tensor schema: returns an ndarray for a
    one-tensor schema, else a dict name -> ndarray; tensor dtypes must match exactly.

    >>> from modelpack.signature import ColSpec, Schema
    >>> schema = Schema([ColSpec("double", "x"), ColSpec("long", "n")])
    >>> df = enforce_schema({"n": [1], "x": [2.5], "extra": ["dropped"]}, schema)
    >>> list(df.columns), df.dtypes.astype(str).tolist()
    (['x', 'n'], ['float64', 'int64'])
    """
    if not isinstance(schema, Schema):
        raise SchemaError(f"enforce_schema needs a Schema, got {type(schema).__name__}")
    if data is None:
        raise SchemaError("no input data was given")
    # Schema.__init__ guarantees its inputs are all ColSpec or all TensorSpec
    if schema.is_tensor_spec():
        return enforce_tensors(data, cast(tuple[TensorSpec, ...], schema.inputs))
    return _enforce_columns(data, cast(tuple[ColSpec, ...], schema.inputs))


def _enforce_frame(df: pd.DataFrame, specs: tuple[ColSpec, ...]) -> pd.DataFrame:
    labels = df.columns.tolist()
    if len(set(labels)) != len(labels):
        raise SchemaError("the input has duplicate column names — make every name unique")
    if specs[0].name is None:
        _check_count(len(labels), specs)
        positions = list(enumerate(labels))
    else:
        index = {label: i for i, label in enumerate(labels)}
        _check_missing(index, specs)
        positions = [(index[s.name], s.name) for s in specs if s.name in index]
    dtypes = df.dtypes.tolist()
    out: dict[Any, Any] = {}
    changed = len(positions) != len(labels)
    for n, ((i, label), spec) in enumerate(zip(positions, _present(specs, positions), strict=True)):
        if conforms(dtypes[i], spec.type):
            out[label] = None
            changed = changed or i != n
        else:
            out[label] = convert_series(where(spec, n), df[label], spec)
            changed = True
    if not changed:
        return df
    columns = {label: df[label].array if value is None else value for label, value in out.items()}
    return pd.DataFrame(columns, index=df.index, copy=False)


def _present(specs: tuple[ColSpec, ...], positions: list[tuple[int, Any]]) -> list[ColSpec]:
    if specs[0].name is None:
        return list(specs)
    names = {label for _, label in positions}
    return [s for s in specs if s.name in names]


def _check_count(given: int, specs: tuple[ColSpec, ...]) -> None:
    if given != len(specs):
        raise SchemaError(
            f"expected {len(specs)} columns (matched by position), got {given} — "
            "send one value per schema column, in schema order"
        )


def _check_missing(present: Any, specs: tuple[ColSpec, ...]) -> None:
    missing = [s.name for s in specs if s.required and s.name not in present]
    if missing:
        raise SchemaError(
            f"missing required columns: {quoted(missing)} — the model needs "
            f"{quoted(s.name for s in specs if s.required)}"
        )


def _enforce_columns(data: Any, specs: tuple[ColSpec, ...]) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return _enforce_frame(data, specs)
    named = specs[0].name is not None
    if isinstance(data, pd.Series):
        label = data.name if named and data.name is not None else specs[0].name
        data = {label if label is not None else 0: data}
    elif isinstance(data, (list, tuple)) and data and all(isinstance(r, Mapping) for r in data):
        keys: dict[Any, None] = {}
        for record in data:
            keys.update(dict.fromkeys(record))
        data = {k: [r.get(k) for r in data] for k in keys}
    elif isinstance(data, (list, tuple, np.ndarray)):
        return _enforce_rows(data, specs)
    if not isinstance(data, Mapping):
        raise SchemaError(
            f"a column schema takes a DataFrame, dict, records or rows, got {type(data).__name__}"
        )
    if named:
        _check_missing(data, specs)
        pairs = [(s.name, data[s.name], s) for s in specs if s.name in data]
    else:
        _check_count(len(data), specs)
        pairs = [(label, value, s) for (label, value), s in zip(data.items(), specs, strict=True)]
    return _build(pairs)


def _enforce_rows(data: Any, specs: tuple[ColSpec, ...]) -> pd.DataFrame:
    """2-D array or list of rows: columns matched by position."""
    if isinstance(data, np.ndarray):
        if data.ndim == 1 and len(specs) == 1:
            data = data.reshape(-1, 1)
        if data.ndim != 2:
            raise SchemaError(f"rows must be 2-D, got an array of {data.ndim} dimensions")
        _check_count(data.shape[1], specs)
        columns: list[Any] = [data[:, i] for i in range(data.shape[1])]
    else:
        if not all(isinstance(r, (list, tuple)) for r in data):
            if len(specs) != 1:
                raise SchemaError("rows must be lists of values, one per schema column")
            data = [[v] for v in data]
        widths = set(map(len, data))
        if len(widths) > 1:
            raise SchemaError("rows have different lengths — send one value per column")
        _check_count(widths.pop() if widths else len(specs), specs)
        columns = [list(c) for c in zip(*data, strict=True)] or [[] for _ in specs]
    labels = [s.name if s.name is not None else i for i, s in enumerate(specs)]
    return _build(list(zip(labels, columns, specs, strict=True)))


@functools.lru_cache(maxsize=256)
def _column_index(labels: tuple[Any, ...]) -> pd.Index:
    # Building an Index of string labels is a large share of a 1-row request under
    # pandas 3; a schema's labels repeat on every call and an Index is immutable.
    return pd.Index(labels)


def _build(pairs: list[tuple[Any, Any, ColSpec]]) -> pd.DataFrame:
    columns = {
        label: convert_value(where(spec, i), value, spec)
        for i, (label, value, spec) in enumerate(pairs)
    }
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise SchemaError(
            f"columns have different lengths ({sorted(lengths)}) — send equal columns"
        )
    values = list(columns.values())
    first = values[0] if values else None
    if (
        isinstance(first, np.ndarray)
        and first.dtype.kind in "biuf"
        and all(isinstance(v, np.ndarray) and v.dtype == first.dtype for v in values)
    ):
        # One numeric dtype: one 2-D block, no per-column consolidation.
        block = np.column_stack(values) if len(values) > 1 else first.reshape(-1, 1)
        return pd.DataFrame(block, columns=_column_index(tuple(columns)), copy=False)
    return pd.DataFrame(columns, copy=False)


__all__ = ["enforce_params", "enforce_schema"]
