"""Signature values: column and tensor specs, schemas, params, and their MLflow JSON form.

Every value here is a small frozen dataclass. The JSON written by ``to_json`` and
``ModelSignature.to_dict`` is exactly what MLflow writes into ``MLmodel``, and the
readers accept what MLflow 2.x and 3.x write, so signatures move both ways.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


def _check_name(name: object, what: str) -> str | None:
    if name is None or (isinstance(name, str) and name):
        return name
    raise SchemaError(f"{what} name must be a non-empty string or None, got {type(name).__name__}")


def _field(d: Mapping[str, Any], key: str, where: str) -> Any:
    try:
        return d[key]
    except KeyError:
        raise SchemaError(f"{where}: missing the '{key}' field") from None


@dataclass(frozen=True, slots=True, init=False)
class ColSpec:
    """One column: its type, its name (None in an unnamed schema), and whether it is required.

    >>> ColSpec("double", "age").to_dict()
    {'type': 'double', 'name': 'age', 'required': True}
    """

    type: DataType
    name: str | None
    required: bool

    def __init__(self, type: DataType | str, name: str | None = None, required: bool = True):
        object.__setattr__(self, "type", DataType.parse(type))
        object.__setattr__(self, "name", _check_name(name, "column"))
        if not isinstance(required, bool):
            raise SchemaError(f"column {name!r}: 'required' must be true or false")
        object.__setattr__(self, "required", required)

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON element for a column."""
        d: dict[str, Any] = {"type": self.type.value}
        if self.name is not None:
            d["name"] = self.name
        d["required"] = self.required
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ColSpec:
        """Read a column element; ``required`` defaults to True, MLflow's old ``optional`` is read."""
        where = f"column {d.get('name')!r}" if d.get("name") is not None else "column"
        type_ = _field(d, "type", where)
        if isinstance(type_, str) and type_ not in DataType.__members__:
            raise SchemaError(
                f"{where}: type '{type_}' is an MLflow type modelpack does not support — "
                f"use one of: {', '.join(DataType.__members__)}"
            )
        if "required" in d:
            required = d["required"]
        else:
            required = not d.get("optional", False)
        return cls(type_, d.get("name"), required)


@dataclass(frozen=True, slots=True, init=False)
class TensorSpec:
    """One tensor: numpy dtype and shape (``-1`` is a free dimension), optionally named.

    >>> TensorSpec("float32", (-1, 4), "x").to_dict()
    {'type': 'tensor', 'tensor-spec': {'dtype': 'float32', 'shape': [-1, 4]}, 'name': 'x'}
    """

    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    name: str | None

    def __init__(self, dtype: Any, shape: Sequence[int], name: str | None = None):
        try:
            np_dtype = np.dtype(dtype)
        except (TypeError, ValueError):
            raise SchemaError(f"tensor {name!r}: {dtype!r} is not a numpy dtype") from None
        if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
            raise SchemaError(f"tensor {name!r}: shape must be a list of integers")
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= -1 for n in shape):
            raise SchemaError(f"tensor {name!r}: shape dimensions must be integers >= -1")
        object.__setattr__(self, "dtype", np_dtype)
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "name", _check_name(name, "tensor"))

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON element for a tensor (``name`` left out when None)."""
        d: dict[str, Any] = {
            "type": "tensor",
            "tensor-spec": {"dtype": str(self.dtype), "shape": list(self.shape)},
        }
        if self.name is not None:
            d["name"] = self.name
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TensorSpec:
        """Read a tensor element as MLflow writes it."""
        where = f"tensor {d.get('name')!r}" if d.get("name") is not None else "tensor"
        spec = _field(d, "tensor-spec", where)
        if not isinstance(spec, Mapping):
            raise SchemaError(f"{where}: 'tensor-spec' must be an object")
        return cls(_field(spec, "dtype", where), _field(spec, "shape", where), d.get("name"))


@dataclass(frozen=True, slots=True, init=False)
class Schema:
    """An ordered list of column specs or of tensor specs.

    All specs are of one kind, all are named or none are, and names are unique.

    >>> s = Schema([ColSpec("double", "x"), ColSpec("string", "city", required=False)])
    >>> s.input_names(), s.required_input_names()
    (['x', 'city'], ['x'])
    >>> Schema.from_json(s.to_json()) == s
    True
    """

    inputs: tuple[ColSpec, ...] | tuple[TensorSpec, ...]

    def __init__(self, inputs: Sequence[ColSpec] | Sequence[TensorSpec]):
        if isinstance(inputs, (str, bytes, Mapping)) or not isinstance(inputs, Sequence):
            raise SchemaError("a schema takes a list of ColSpec or a list of TensorSpec")
        specs = tuple(inputs)
        if not specs:
            raise SchemaError("a schema needs at least one column or tensor")
        if all(isinstance(s, ColSpec) for s in specs):
            pass
        elif all(isinstance(s, TensorSpec) for s in specs):
            if len(specs) > 1 and specs[0].name is None:
                raise SchemaError("a schema with more than one tensor must name every tensor")
        else:
            raise SchemaError(
                "a schema holds only ColSpec or only TensorSpec, not a mix "
                "(or other objects) — split it into two schemas"
            )
        names = [s.name for s in specs]
        if any(n is None for n in names) and any(n is not None for n in names):
            raise SchemaError("name every input of a schema or none of them")
        duplicates = sorted({n for n in names if n is not None and names.count(n) > 1})
        if duplicates:
            raise SchemaError(
                f"duplicate input names in schema: {', '.join(map(repr, duplicates))}"
            )
        object.__setattr__(self, "inputs", specs)

    def is_tensor_spec(self) -> bool:
        """True for a tensor schema, False for a column schema."""
        return isinstance(self.inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        """True when the inputs are named."""
        return self.inputs[0].name is not None

    def input_names(self) -> list[str]:
        """The input names in order; an unnamed schema returns ``[]``."""
        return [s.name for s in self.inputs if s.name is not None]

    def required_input_names(self) -> list[str]:
        """Names of the columns that must be present (every tensor is required)."""
        return [
            s.name
            for s in self.inputs
            if s.name is not None and (not isinstance(s, ColSpec) or s.required)
        ]

    def to_list(self) -> list[dict[str, Any]]:
        """The JSON-ready list of elements."""
        return [s.to_dict() for s in self.inputs]

    def to_json(self) -> str:
        """The JSON string MLflow stores under ``signature.inputs``/``outputs``."""
        return json.dumps(self.to_list())

    @classmethod
    def from_list(cls, elements: Any) -> Schema:
        """Build a schema from JSON elements; anything malformed is a :class:`SchemaError`."""
        if not isinstance(elements, list):
            raise SchemaError(f"a schema must be a JSON list, got {type(elements).__name__}")
        specs: list[Any] = []
        for i, element in enumerate(elements):
            if not isinstance(element, Mapping):
                raise SchemaError(f"schema element {i} must be an object")
            if element.get("type") == "tensor":
                specs.append(TensorSpec.from_dict(element))
            else:
                specs.append(ColSpec.from_dict(element))
        return cls(specs)

    @classmethod
    def from_json(cls, text: str | bytes) -> Schema:
        """Parse the JSON string MLflow or modelpack wrote."""
        return cls.from_list(_loads(text, "schema"))


def _loads(text: Any, what: str) -> Any:
    if not isinstance(text, (str, bytes)):
        raise SchemaError(f"a {what} must be a JSON string, got {type(text).__name__}")
    try:
        return json.loads(text)
    except ValueError as e:  # JSONDecodeError; its message holds position only, not data
        raise SchemaError(f"the {what} is not valid JSON ({e.msg} at position {e.pos})") from None


_INT_RANGES = {DataType.integer: (-(2**31), 2**31 - 1), DataType.long: (-(2**63), 2**63 - 1)}


def _param_scalar(name: str, dtype: DataType, value: Any) -> Any:
    """The cleaned scalar for a param of type ``dtype``; refuses anything lossy."""
    if isinstance(value, np.generic):
        value = value.item()
    kind = type(value).__name__
    bad = SchemaError(f"param '{name}': expected {dtype.value}, got {kind}")
    if dtype in _INT_RANGES:
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad
        low, high = _INT_RANGES[dtype]
        if not low <= value <= high:
            raise SchemaError(f"param '{name}': the value does not fit in {dtype.value}")
        return value
    if dtype in (DataType.float, DataType.double):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if isinstance(value, int) and abs(value) > 2**53:
            raise SchemaError(f"param '{name}': the integer is too large to be exact as a float")
        return float(value)
    if dtype is DataType.boolean:
        if not isinstance(value, bool):
            raise bad
        return value
    if dtype is DataType.string:
        if not isinstance(value, str):
            raise bad
        return value
    if dtype is DataType.datetime:
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value)
            except ValueError:
                raise SchemaError(f"param '{name}': expected an ISO 8601 datetime") from None
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day)
        raise bad
    raise SchemaError(f"param '{name}': binary params are not supported — use string")


@dataclass(frozen=True, slots=True, init=False)
class ParamSpec:
    """One inference param: name, type, default, and shape (None for a scalar, ``(-1,)`` a list).

    >>> ParamSpec("k", "long", 3).to_dict()
    {'name': 'k', 'type': 'long', 'default': 3, 'shape': None}
    >>> ParamSpec("k", "long", 3).validate(5)
    5
    """

    name: str
    dtype: DataType
    default: Any
    shape: tuple[int, ...] | None

    def __init__(
        self,
        name: str,
        dtype: DataType | str,
        default: Any,
        shape: Sequence[int] | None = None,
    ):
        if not isinstance(name, str) or not name:
            raise SchemaError("a param name must be a non-empty string")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "dtype", DataType.parse(dtype))
        if shape is not None and tuple(shape) != (-1,):
            raise SchemaError(f"param '{name}': shape must be None (scalar) or (-1,) (a list)")
        object.__setattr__(self, "shape", None if shape is None else (-1,))
        if default is not None:
            default = self.validate(default)
            if isinstance(default, list):
                default = tuple(default)  # keeps the frozen spec hashable
        object.__setattr__(self, "default", default)

    def validate(self, value: Any) -> Any:
        """Return ``value`` cleaned for this param (a list for a 1-D param), or raise.

        The message names the param and the types, never the value.
        """
        if self.shape is None:
            return _param_scalar(self.name, self.dtype, value)
        if isinstance(value, np.ndarray) and value.ndim == 1:
            value = value.tolist()
        if not isinstance(value, (list, tuple)):
            raise SchemaError(
                f"param '{self.name}': expected a list of {self.dtype.value}, "
                f"got {type(value).__name__}"
            )
        return [_param_scalar(self.name, self.dtype, v) for v in value]

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON element for a param (datetimes as ISO strings)."""
        default = self.default
        if isinstance(default, tuple):
            default = [v.isoformat() if isinstance(v, dt.datetime) else v for v in default]
        elif isinstance(default, dt.datetime):
            default = default.isoformat()
        shape = None if self.shape is None else list(self.shape)
        return {"name": self.name, "type": self.dtype.value, "default": default, "shape": shape}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ParamSpec:
        """Read a param element as MLflow writes it."""
        name = _field(d, "name", "param")
        default = d.get("default")
        if isinstance(default, float) and not math.isfinite(default):
            raise SchemaError(f"param {name!r}: the default must be a finite number")
        return cls(name, _field(d, "type", f"param {name!r}"), default, d.get("shape"))


@dataclass(frozen=True, slots=True, init=False)
class ParamSchema:
    """The params a model accepts at prediction time.

    >>> ps = ParamSchema([ParamSpec("k", "long", 3)])
    >>> ParamSchema.from_json(ps.to_json()) == ps
    True
    """

    params: tuple[ParamSpec, ...]

    def __init__(self, params: Sequence[ParamSpec]):
        if isinstance(params, (str, bytes, Mapping)) or not isinstance(params, Sequence):
            raise SchemaError("a params schema takes a list of ParamSpec")
        specs = tuple(params)
        if not all(isinstance(p, ParamSpec) for p in specs):
            raise SchemaError("a params schema holds only ParamSpec objects")
        names = [p.name for p in specs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SchemaError(f"duplicate param names: {', '.join(map(repr, duplicates))}")
        object.__setattr__(self, "params", specs)

    def names(self) -> list[str]:
        """The param names in order."""
        return [p.name for p in self.params]

    def to_list(self) -> list[dict[str, Any]]:
        """The JSON-ready list of param elements."""
        return [p.to_dict() for p in self.params]

    def to_json(self) -> str:
        """The JSON string MLflow stores under ``signature.params``."""
        return json.dumps(self.to_list())

    @classmethod
    def from_list(cls, elements: Any) -> ParamSchema:
        """Build a params schema from JSON elements."""
        if not isinstance(elements, list) or not all(isinstance(e, Mapping) for e in elements):
            raise SchemaError("a params schema must be a JSON list of objects")
        return cls([ParamSpec.from_dict(e) for e in elements])

    @classmethod
    def from_json(cls, text: str | bytes) -> ParamSchema:
        """Parse the JSON string MLflow or modelpack wrote."""
        return cls.from_list(_loads(text, "params schema"))


@dataclass(frozen=True, slots=True)
class ModelSignature:
    """A model's input schema, output schema and params schema, each optional.

    >>> sig = ModelSignature(Schema([ColSpec("double", "x")]))
    >>> sig.to_dict()
    {'inputs': '[{"type": "double", "name": "x", "required": true}]', 'outputs': None, 'params': None}
    >>> ModelSignature.from_dict(sig.to_dict()) == sig
    True
    """

    inputs: Schema | None = None
    outputs: Schema | None = None
    params: ParamSchema | None = None

    def __post_init__(self) -> None:
        for field, cls in (("inputs", Schema), ("outputs", Schema), ("params", ParamSchema)):
            value = getattr(self, field)
            if value is not None and not isinstance(value, cls):
                raise SchemaError(f"signature {field} must be a {cls.__name__} or None")

    def to_dict(self) -> dict[str, str | None]:
        """The ``signature`` block of ``MLmodel``: JSON strings, or None where absent."""
        return {
            "inputs": None if self.inputs is None else self.inputs.to_json(),
            "outputs": None if self.outputs is None else self.outputs.to_json(),
            "params": None if self.params is None else self.params.to_json(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelSignature:
        """Read the ``signature`` block of an ``MLmodel`` written by MLflow or modelpack.

        Each value may be a JSON string, an already-parsed list, or None; unknown keys
        are ignored.
        """
        if not isinstance(d, Mapping):
            raise SchemaError(f"a signature must be a mapping, got {type(d).__name__}")

        def read(key: str, reader: Any) -> Any:
            value = d.get(key)
            if value is None:
                return None
            if isinstance(value, list):
                return reader.from_list(value)
            return reader.from_json(value)

        return cls(read("inputs", Schema), read("outputs", Schema), read("params", ParamSchema))


__all__ = [
    "ColSpec",
    "DataType",
    "ModelSignature",
    "ParamSchema",
    "ParamSpec",
    "Schema",
    "TensorSpec",
]
