"""Signature values: column and tensor specs, schemas, the model signature, and their JSON form.

Every value here is a small frozen dataclass. The JSON written by ``to_json`` and
``ModelSignature.to_dict`` is exactly what MLflow writes into ``MLmodel``, and the
readers accept what MLflow 2.x and 3.x write, so signatures move both ways. Params
(:class:`ParamSpec`, :class:`ParamSchema`) are defined in ``_params`` and re-exported here.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelpack.errors import SchemaError
from modelpack.signature._checks import loads_json, require_field
from modelpack.signature._dtypes import DataType
from modelpack.signature._params import ParamSchema, ParamSpec


def _check_name(name: object, what: str) -> str | None:
    if name is None or (isinstance(name, str) and name):
        return name
    raise SchemaError(f"{what} name must be a non-empty string or None, got {type(name).__name__}")


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
        type_ = require_field(d, "type", where)
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
        spec = require_field(d, "tensor-spec", where)
        if not isinstance(spec, Mapping):
            raise SchemaError(f"{where}: 'tensor-spec' must be an object")
        return cls(
            require_field(spec, "dtype", where), require_field(spec, "shape", where), d.get("name")
        )


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
        specs: tuple[ColSpec | TensorSpec, ...] = tuple(inputs)
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
        # one pass: names.count() per name was quadratic (minutes for 100k columns)
        duplicates = sorted(n for n, k in Counter(names).items() if n is not None and k > 1)
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
        return cls.from_list(loads_json(text, "schema"))


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
