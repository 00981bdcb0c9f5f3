"""Enforce a tensor schema: dtypes must match exactly, shapes up to free (-1) dimensions.

Typed arrays are never converted. Python lists (e.g. parsed JSON) carry no dtype, so
they take the declared one only losslessly: integers that fit, floats to a float type,
never a float to an integer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from modelpack.errors import SchemaError
from modelpack.signature._checks import cast_checked, quoted
from modelpack.signature.schema import TensorSpec


def _tensor_where(spec: TensorSpec) -> str:
    return f"tensor '{spec.name}'" if spec.name is not None else "the input tensor"


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def enforce_tensors(data: Any, specs: tuple[TensorSpec, ...]) -> Any:
    """The tensor half of ``enforce_schema``: an ndarray for one spec, else a dict name -> ndarray."""
    if len(specs) == 1:
        spec = specs[0]
        if isinstance(data, Mapping):
            if spec.name in data:
                data = data[spec.name]
            elif len(data) == 1:
                data = next(iter(data.values()))
            else:
                raise SchemaError(f"expected one tensor named '{spec.name}', got {quoted(data)}")
        elif isinstance(data, pd.DataFrame):
            return _check_tensor(spec, _frame_tensor(spec, data))
        return _check_tensor(spec, data)
    if isinstance(data, pd.DataFrame):
        data = {label: data[label] for label in data.columns}
    if not isinstance(data, Mapping):
        raise SchemaError(
            f"this model takes {len(specs)} named tensors ({quoted(s.name for s in specs)}) "
            f"— send a dict keyed by name, got {type(data).__name__}"
        )
    missing = [s.name for s in specs if s.name not in data]
    if missing:
        raise SchemaError(f"missing tensors: {quoted(missing)}")
    return {s.name: _check_tensor(s, data[s.name]) for s in specs}


def _frame_tensor(spec: TensorSpec, df: pd.DataFrame) -> np.ndarray:
    bad = [str(d) for d in df.dtypes.tolist() if d != spec.dtype]
    if bad:
        raise SchemaError(
            f"{_tensor_where(spec)}: expected every column as {spec.dtype}, got "
            f"{', '.join(sorted(set(bad)))} — send {spec.dtype} data (tensors are never converted)"
        )
    # to_numpy() is typed Any
    arr: np.ndarray = df.iloc[:, 0].to_numpy() if len(spec.shape) == 1 else df.to_numpy()
    return arr


def _check_tensor(spec: TensorSpec, value: Any) -> np.ndarray:
    where = _tensor_where(spec)
    if isinstance(value, pd.Series):
        value = value.tolist() if value.dtype == object else value.to_numpy()
    if isinstance(value, np.ndarray):
        arr = value
        same = arr.dtype == spec.dtype or (
            arr.dtype.kind in "US" and arr.dtype.kind == spec.dtype.kind
        )
        if not same:
            raise SchemaError(
                f"{where}: expected {spec.dtype} with shape {_shape(spec.shape)}, got "
                f"{arr.dtype} with shape {_shape(arr.shape)} — send {spec.dtype} data "
                "(tensor dtypes are never converted)"
            )
    else:
        arr = _list_tensor(where, spec, value)
    if arr.ndim != len(spec.shape) or any(
        w not in (-1, g) for w, g in zip(spec.shape, arr.shape, strict=True)
    ):
        raise SchemaError(
            f"{where}: expected shape {_shape(spec.shape)} ({spec.dtype}), got "
            f"{_shape(arr.shape)} — -1 is free, every other dimension must match"
        )
    return arr


def _list_tensor(where: str, spec: TensorSpec, value: Any) -> np.ndarray:
    """Lists become ``spec.dtype`` only losslessly: ints that fit, floats to float, never float to int."""
    try:
        natural = np.asarray(value)
    except ValueError:
        natural = np.empty(0, dtype=object)
    want, got = spec.dtype, natural.dtype
    if got == want or (got.kind in "US" and got.kind == want.kind):
        return natural
    if got.kind == "O":
        raise SchemaError(
            f"{where}: expected a rectangular list of {want} values, got ragged, missing or "
            "mixed values"
        )
    if got.kind in "US" and want.kind == "O":
        return natural.astype(object)
    if got.kind in "iu" and want.kind in "iuf" and natural.size:
        high = np.iinfo(want).max if want.kind != "f" else 2 ** (np.finfo(want).nmant + 1)
        low = np.iinfo(want).min if want.kind != "f" else -high
        if natural.min() >= low and natural.max() <= high:
            return natural.astype(want)
        raise SchemaError(f"{where}: the integers do not fit {want} exactly")
    if (got.kind in "iu" and want.kind in "iuf") or (got.kind == "f" and want.kind == "f"):
        return cast_checked(where, natural, want)
    kinds = {"b": "booleans", "i": "integers", "u": "integers", "f": "floats", "U": "strings"}
    given = kinds.get(got.kind, str(got))
    hint = (
        "send integers (floats are never truncated)" if got.kind == "f" else f"send {want} values"
    )
    raise SchemaError(f"{where}: expected {want}, got a list of {given} — {hint}")


__all__ = ["enforce_tensors"]
