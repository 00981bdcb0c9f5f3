"""Inference params: their specs and schema, MLflow's JSON form of them, and their enforcement.

A param is a named scalar or 1-D list of one :class:`DataType`, with a default. Values
are cleaned only where nothing can be lost: an int becomes a float only while exact, a
float never becomes an int, and ISO 8601 text is read for a datetime param.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelpack.errors import SchemaError
from modelpack.signature._checks import loads_json, quoted, require_field
from modelpack.signature._dtypes import DataType

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
        name = require_field(d, "name", "param")
        default = d.get("default")
        if isinstance(default, float) and not math.isfinite(default):
            raise SchemaError(f"param {name!r}: the default must be a finite number")
        return cls(name, require_field(d, "type", f"param {name!r}"), default, d.get("shape"))


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
        return cls.from_list(loads_json(text, "params schema"))


def enforce_params(params: Mapping[str, Any] | None, schema: ParamSchema | None) -> dict[str, Any]:
    """Check ``params`` against ``schema`` and return them with defaults filled in.

    >>> from modelpack.signature import ParamSchema, ParamSpec
    >>> enforce_params({"k": 5}, ParamSchema([ParamSpec("k", "long", 3), ParamSpec("t", "double", 0.5)]))
    {'k': 5, 't': 0.5}
    """
    if params is not None and not isinstance(params, Mapping):
        raise SchemaError(f"params must be a JSON object, got {type(params).__name__}")
    if schema is None:
        if params:
            raise SchemaError(
                f"this model declares no params, got {quoted(params)} — send no params, "
                "or save the model with a signature that has params"
            )
        return {}
    params = params or {}
    accepted = schema.names()
    unknown = [k for k in params if k not in accepted]
    if unknown:
        raise SchemaError(
            f"unknown params {quoted(unknown)} — this model accepts: {quoted(accepted)}"
        )
    out: dict[str, Any] = {}
    for spec in schema.params:
        if spec.name in params:
            out[spec.name] = spec.validate(params[spec.name])
        elif spec.default is not None:
            out[spec.name] = list(spec.default) if spec.shape else spec.default
    return out


__all__ = ["ParamSchema", "ParamSpec", "enforce_params"]
