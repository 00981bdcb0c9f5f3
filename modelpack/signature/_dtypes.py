"""The column and param types of a signature, and the numpy dtype each one is held in."""

from __future__ import annotations

from enum import Enum
from typing import Any

import numpy as np

from modelpack.errors import SchemaError


class DataType(Enum):
    """The column types of a signature, with the numpy dtype each one is held in.

    >>> DataType.long.to_numpy()
    dtype('int64')
    >>> DataType.parse("double") is DataType.double
    True
    """

    boolean = "boolean"
    integer = "integer"
    long = "long"
    float = "float"
    double = "double"
    string = "string"
    binary = "binary"
    datetime = "datetime"

    def to_numpy(self) -> np.dtype[Any]:
        """The numpy dtype values of this type are held in (``object`` for string/binary)."""
        return _NUMPY_DTYPES[self]

    @classmethod
    def from_numpy(cls, dtype: np.dtype[Any]) -> DataType | None:
        """The type that holds ``dtype`` without loss, or None (uint64, object, complex...).

        >>> DataType.from_numpy(np.dtype("uint32"))
        <DataType.long: 'long'>
        """
        kind = dtype.kind
        if kind in "iuf":
            return _FROM_NUMPY.get(dtype)
        return {"b": cls.boolean, "M": cls.datetime, "U": cls.string, "S": cls.binary}.get(kind)

    @classmethod
    def parse(cls, value: DataType | str) -> DataType:
        """Return the member for ``value``; an unknown name is a :class:`SchemaError`."""
        if isinstance(value, DataType):
            return value
        if isinstance(value, str) and value in cls.__members__:
            return cls.__members__[value]
        supported = ", ".join(cls.__members__)
        raise SchemaError(
            f"type {value!r} is not supported — use one of: {supported}"
            if isinstance(value, str)
            else f"a type must be a name such as 'double', got {type(value).__name__}"
        )


_NUMPY_DTYPES: dict[DataType, np.dtype[Any]] = {
    DataType.boolean: np.dtype(np.bool_),
    DataType.integer: np.dtype(np.int32),
    DataType.long: np.dtype(np.int64),
    DataType.float: np.dtype(np.float32),
    DataType.double: np.dtype(np.float64),
    DataType.string: np.dtype(object),
    DataType.binary: np.dtype(object),
    DataType.datetime: np.dtype("datetime64[ns]"),
}

_FROM_NUMPY: dict[np.dtype[Any], DataType] = {
    **{np.dtype(t): DataType.integer for t in ("int8", "int16", "int32", "uint8", "uint16")},
    **{np.dtype(t): DataType.long for t in ("int64", "uint32")},
    **{np.dtype(t): DataType.float for t in ("float16", "float32")},
    np.dtype("float64"): DataType.double,
}


__all__ = ["DataType"]
