"""Per-column value conversion for column schemas: only conversions that cannot change a
value, with messages that name the column, the types and the fix, never the data.

``enforce.py`` maps whatever input shape arrives to columns and calls these.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np
import pandas as pd

from modelpack.errors import SchemaError
from modelpack.signature._checks import cast_checked
from modelpack.signature.schema import ColSpec, DataType

_D = DataType
_SMALL_INTS = ("int8", "int16", "int32", "uint8", "uint16")
_ALLOWED: dict[DataType, frozenset[np.dtype[Any]]] = {
    _D.integer: frozenset(map(np.dtype, _SMALL_INTS)),
    _D.long: frozenset(map(np.dtype, (*_SMALL_INTS, "int64", "uint32"))),
    _D.float: frozenset(map(np.dtype, ("float16", "float32"))),
    _D.double: frozenset(map(np.dtype, (*_SMALL_INTS, "uint32", "float16", "float32", "float64"))),
    _D.boolean: frozenset([np.dtype(bool)]),
}
_INTS = (_D.integer, _D.long)
_FLOATS = (_D.float, _D.double)
# largest integer each float type holds exactly, for untyped ints
_EXACT_INT = {_D.float: 2**24, _D.double: 2**53}
# labels for pandas' infer_dtype names of object columns
_OBJECT_LABELS = {"integer": "integers", "floating": "floats", "mixed-integer-float": "floats"}
_OBJECT_LABELS |= {"boolean": "booleans", "string": "strings", "bytes": "bytes"}


def where(spec: ColSpec, position: int) -> str:
    return f"column '{spec.name}'" if spec.name is not None else f"column {position}"


def _label(t: DataType) -> str:
    return t.value if t in (_D.string, _D.binary) else f"{t.value} ({t.to_numpy()})"


def _given(dtype: Any) -> str:
    found = DataType.from_numpy(dtype) if isinstance(dtype, np.dtype) else None
    return f"{found.value} ({dtype})" if found is not None else str(dtype)


def _refuse(where: str, target: DataType, given: str, given_type: DataType | None) -> SchemaError:
    if target in _INTS and given_type in _FLOATS:
        hint = "send integers, or declare the column as double (floats are never truncated)"
    elif target in _INTS + _FLOATS and given_type is _D.boolean:
        hint = "send numbers, or declare the column as boolean"
    elif target in _INTS + _FLOATS and given_type is _D.string:
        hint = "send numbers (text is never parsed into numbers), or declare the column as string"
    elif target is _D.integer and given_type is _D.long:
        hint = "values may not fit in int32; send int32, or declare the column as long"
    elif target in _FLOATS and given.startswith("long (int64)"):
        hint = "int64 values above 2**53 would change; send floats, or declare the column as long"
    elif target is _D.float and given_type in (_D.double, _D.long, _D.integer):
        hint = "values would be rounded to float32; send float32, or declare the column as double"
    elif given.startswith("uint64"):
        hint = "uint64 values above 2**63 do not fit in int64 nor above 2**53 in float64; cast to int64 if they fit"
    elif given_type is not None:
        hint = f"send {target.value} values, or declare the column as {given_type.value}"
    else:
        hint = f"send {target.value} values"
    return SchemaError(f"{where}: expected {_label(target)}, got {given} — {hint}")


def _missing_in_ints(where: str, target: DataType) -> SchemaError:
    return SchemaError(
        f"{where}: expected {_label(target)}, got missing values — integer columns cannot "
        "hold them; fill them, or declare the column as double"
    )


def _convert_array(where: str, arr: np.ndarray, spec: ColSpec) -> np.ndarray:
    """Typed numpy values: convert only where ``_ALLOWED`` says no value can change."""
    if arr.ndim != 1:
        raise SchemaError(f"{where}: a column must be 1-D, got {arr.ndim} dimensions")
    dtype, target = arr.dtype, spec.type
    if dtype.kind == "O":
        return _convert_objects(where, arr, spec)
    allowed = _ALLOWED.get(target)
    if allowed is not None and dtype in allowed:
        want = target.to_numpy()
        return arr if dtype == want else arr.astype(want)
    if (target is _D.string and dtype.kind == "U") or (target is _D.binary and dtype.kind == "S"):
        return arr.astype(object)
    if target is _D.datetime and dtype.kind == "M":
        return arr
    if target is _D.datetime and dtype.kind == "U":
        return _datetimes(where, arr, True)
    raise _refuse(where, target, _given(dtype), DataType.from_numpy(dtype))


def _objects(where: str, values: Any) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    try:
        arr[:] = values
    except ValueError:
        raise SchemaError(f"{where}: each value must be a scalar, not a list") from None
    return arr


def _ints_exact(arr: np.ndarray, inferred: str, limit: int) -> bool:
    """Whether every integer among ``arr``'s values is within ``±limit``.

    Judged on the integers themselves, before any cast: after it, 2**53 + 1 would
    already be 2**53. The integers mixed with floats count too (a request's column
    merged with another's in a batch is judged as each one alone would be).
    """
    if inferred == "integer":
        ints = arr[~pd.isna(arr)]
    else:  # mixed integers and floats (and missing values, which are floats)
        is_int = [isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr]
        ints = arr[np.asarray(is_int, dtype=bool)]
    if not len(ints):
        return True
    try:
        as_int64 = ints.astype(np.int64)
    except OverflowError:  # past 64 bits: far beyond any float's exact range
        return False
    return bool(((as_int64 <= limit) & (as_int64 >= -limit)).all())


def _convert_objects(where: str, arr: np.ndarray, spec: ColSpec) -> np.ndarray:
    """Untyped Python values: checked with pandas' vectorised ``infer_dtype``."""
    target = spec.type
    inferred = pd.api.types.infer_dtype(arr, skipna=True)
    if inferred == "empty" and len(arr):  # every value is missing
        if target in _INTS:
            raise _missing_in_ints(where, target)
        typed = target in _FLOATS or target is _D.datetime
        return arr.astype(target.to_numpy()) if typed else arr
    if inferred == "empty":
        return arr.astype(target.to_numpy())
    given = _OBJECT_LABELS.get(inferred, f"mixed objects ({inferred})")
    if target is _D.string and inferred == "string":
        return arr
    if target is _D.binary and inferred in ("bytes", "string"):
        return arr if inferred == "bytes" else _base64(where, arr)
    if target is _D.boolean and inferred == "boolean":
        return arr if pd.isna(arr).any() else arr.astype(bool)
    if target is _D.datetime and inferred in ("datetime", "datetime64", "date", "string"):
        return _datetimes(where, arr, inferred == "string")
    if target in _INTS and inferred == "integer":
        if pd.isna(arr).any():
            raise _missing_in_ints(where, target)
        return _exact_ints(where, arr, target)
    if target in _FLOATS and inferred in ("integer", "floating", "mixed-integer-float"):
        missing = pd.isna(arr)
        if missing.any():
            arr = arr.copy()
            arr[missing] = np.nan
        if inferred != "floating" and not _ints_exact(arr, inferred, _EXACT_INT[target]):
            raise SchemaError(
                f"{where}: integers too large to be exact as {_label(target)} — "
                "declare the column as long"
            )
        return cast_checked(where, arr, target.to_numpy())
    given_type = {"strings": _D.string, "booleans": _D.boolean, "floats": _D.double}.get(given)
    if target is _D.string:
        return _raise_not_strings(where, given)
    raise _refuse(where, target, given, given_type or (_D.long if given == "integers" else None))


def _raise_not_strings(where: str, given: str) -> np.ndarray:
    raise SchemaError(
        f"{where}: expected string, got {given} — send strings only (values are never "
        "turned into text for you)"
    )


def _exact_ints(where: str, arr: np.ndarray, target: DataType) -> np.ndarray:
    want = target.to_numpy()
    try:
        out = arr.astype(np.int64)
    except OverflowError:
        raise SchemaError(f"{where}: integers beyond int64 do not fit {_label(target)}") from None
    info = np.iinfo(want)
    if len(out) and (out.min() < info.min or out.max() > info.max):
        raise SchemaError(
            f"{where}: integers do not fit {_label(target)} — send smaller values, or "
            "declare the column as long"
        )
    return out.astype(want, copy=False)


def _base64(where: str, arr: np.ndarray) -> np.ndarray:
    try:
        decoded = [None if v is None else base64.b64decode(v, validate=True) for v in arr]
    except (binascii.Error, ValueError, TypeError):
        raise SchemaError(f"{where}: expected binary as base64 text, got other text") from None
    return _objects(where, decoded)


def _datetimes(where: str, arr: Any, from_text: bool) -> np.ndarray:
    try:
        parsed = pd.to_datetime(arr, format="ISO8601" if from_text else None)
    except (TypeError, ValueError, OverflowError):
        raise SchemaError(
            f"{where}: expected datetime, got values that are not ISO 8601 datetimes — "
            "send 'YYYY-MM-DDTHH:MM:SS' text or datetime values"
        ) from None
    if parsed.tz is not None:
        raise _tz_aware(where, "tz-aware datetimes")
    values: np.ndarray = parsed.to_numpy()  # to_numpy() is typed Any
    return values


def _tz_aware(where: str, given: str) -> SchemaError:
    return SchemaError(
        f"{where}: expected datetime (naive), got {given} — convert to naive UTC first, "
        "e.g. s.dt.tz_convert(None); modelpack does not guess time zones"
    )


def convert_series(where: str, s: pd.Series, spec: ColSpec) -> Any:
    dtype, target = s.dtype, spec.type
    if isinstance(dtype, np.dtype):
        return _convert_array(where, s.to_numpy(), spec)
    if isinstance(dtype, pd.StringDtype):
        if target is _D.string:
            return s.array
        if target in (_D.datetime, _D.binary):
            return _convert_objects(where, s.to_numpy(dtype=object, na_value=None), spec)
        raise _refuse(where, target, f"string ({dtype})", _D.string)
    if isinstance(dtype, pd.DatetimeTZDtype):
        raise _tz_aware(where, str(dtype))
    np_dtype = getattr(dtype, "numpy_dtype", None)  # nullable (masked) and Arrow dtypes
    if np_dtype is None or isinstance(dtype, pd.CategoricalDtype):
        raise _refuse(where, target, str(dtype), None)
    np_dtype = np.dtype(np_dtype)
    if np_dtype.kind == "U" and target is _D.string:
        return s.array
    if not s.hasnans:
        return _convert_array(where, s.to_numpy(dtype=np_dtype), spec)
    if target in _FLOATS and np_dtype in _ALLOWED[target]:
        return s.to_numpy(dtype=target.to_numpy(), na_value=np.nan)
    if target in _INTS and np_dtype in _ALLOWED[target]:
        raise _missing_in_ints(where, target)
    if target is _D.boolean and np_dtype.kind == "b":
        return s.to_numpy(dtype=object, na_value=None)
    raise _refuse(where, target, _given(np_dtype), DataType.from_numpy(np_dtype))


# lists of one Python type that convert to the declared type with no check left to make
_FAST_LISTS: dict[tuple[DataType, frozenset[type]], Any] = {
    (_D.double, frozenset([float])): np.float64,
    (_D.long, frozenset([int])): np.int64,
    (_D.boolean, frozenset([bool])): np.bool_,
    (_D.string, frozenset([str])): object,
}


def convert_value(where: str, value: Any, spec: ColSpec) -> Any:
    if isinstance(value, pd.Series):
        return convert_series(where, value, spec)
    if isinstance(value, np.ndarray):
        return _convert_array(where, value.reshape(1) if value.ndim == 0 else value, spec)
    if isinstance(value, (list, tuple)):
        fast = _FAST_LISTS.get((spec.type, frozenset(map(type, value))))
        if fast is not None:
            try:
                return np.array(value, dtype=fast)
            except OverflowError:
                pass  # the general path words the error
        return _convert_objects(where, _objects(where, value), spec)
    return _convert_objects(where, _objects(where, [value]), spec)


def conforms(dtype: Any, target: DataType) -> bool:
    """True when a pandas column of ``dtype`` needs neither a check of values nor a change."""
    if isinstance(dtype, np.dtype):
        if target is _D.datetime:
            return dtype.kind == "M"
        return dtype.kind != "O" and dtype == target.to_numpy()
    return target is _D.string and isinstance(dtype, pd.StringDtype)


__all__ = ["conforms", "convert_series", "convert_value", "where"]
