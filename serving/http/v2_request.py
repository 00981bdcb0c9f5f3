"""An Open Inference Protocol (V2) infer request, read and checked before the model sees it.

Every field is checked for what it is before it is used: ``datatype`` a known name,
``shape`` at most :data:`MAX_DIMS` non-negative integers, ``id`` a short string or a
number, ``parameters`` and ``id`` nested at most :data:`MAX_NESTING` deep. The binary
tensor data extension's transport parameters (``binary_data_output``, ``binary_data``,
``binary_data_size``) are the protocol's, never handed to the model as params.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from modelpack.errors import InvalidInput, SchemaError
from modelpack.serving.http.v2_binary import binary_size, decode_tensor, split_body
from modelpack.serving.parsing import loads

if TYPE_CHECKING:
    from modelpack.signature import Schema

DTYPES = {
    "BOOL": "bool",
    **{f"UINT{n}": f"uint{n}" for n in (8, 16, 32, 64)},
    **{f"INT{n}": f"int{n}" for n in (8, 16, 32, 64)},
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
#: numpy's own limit is 64; no model takes tensors of more than a handful
MAX_DIMS = 32
#: how deep ``parameters`` and ``id`` may nest lists and objects
MAX_NESTING = 32
_MAX_ID_CHARS = 256
#: request parameters of the protocol itself (the binary data extension, Triton's
#: scheduling hints, KServe's transport fields), not params of the model, unless the
#: model declares a param of that name
_TRANSPORT_PARAMETERS = frozenset(
    {
        "binary_data_output",
        "content_type",
        "headers",
        "priority",
        "sequence_end",
        "sequence_id",
        "sequence_start",
        "timeout",
    }
)


@dataclass
class InferRequest:
    """A checked infer request: tensors by name, model params and what to answer."""

    tensors: dict[str, np.ndarray[Any, Any]]
    params: dict[str, Any] | None = None
    id: str | None = None
    #: the requested outputs in order, each with whether it goes back as binary data
    outputs: list[tuple[str, bool]] | None = None
    binary_output: bool = False


def parse_infer_request(
    body: bytes, header_length: str | None, model_params: frozenset[str] = frozenset()
) -> InferRequest:
    """Read an infer request body (JSON, or JSON then binary tensor data);
    ``model_params`` are the names of the params the model's signature declares."""
    json_part, binary = split_body(body, header_length)
    doc = loads(json_part)
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or not doc["inputs"]:
        raise InvalidInput("the body must be an object with a non-empty 'inputs' list")
    request = InferRequest(tensors={}, id=_request_id(doc.get("id")))
    parameters = doc.get("parameters")
    if parameters is not None:
        if not isinstance(parameters, dict):
            raise InvalidInput("'parameters' must be a JSON object of name: value")
        _check_nesting(parameters, "'parameters'")
        flag = parameters.get("binary_data_output", False)
        if not isinstance(flag, bool):
            raise InvalidInput("parameter 'binary_data_output' must be true or false")
        request.binary_output = flag
        transport = _TRANSPORT_PARAMETERS - model_params | {"binary_data_output"}
        params = {k: v for k, v in parameters.items() if k not in transport}
        request.params = params or None
    request.outputs = _requested_outputs(doc.get("outputs"))
    offset = 0
    for index, item in enumerate(doc["inputs"]):
        name, arr, offset = decode_input(item, index, binary, offset)
        if name in request.tensors:
            raise InvalidInput(
                f"two inputs have the same name ('{name[:64]}'); each input names one tensor"
            )
        request.tensors[name] = arr
    if offset != len(binary):
        raise InvalidInput(
            f"the body has {len(binary) - offset} bytes of binary data after the inputs' "
            "binary_data_size; each input's binary_data_size must give its exact size"
        )
    return request


def _request_id(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return None if value is None else value[:_MAX_ID_CHARS]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)[:_MAX_ID_CHARS]
    raise InvalidInput("'id' must be a string")


def _check_nesting(value: Any, where: str) -> None:
    """Refuse lists and objects nested deeper than :data:`MAX_NESTING` (walked without
    recursion, so no depth can overflow the stack here or later)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_NESTING:
            raise InvalidInput(f"{where} nests lists or objects more than {MAX_NESTING} deep")
        stack.extend((child, depth + 1) for child in children)


def _requested_outputs(outputs: Any) -> list[tuple[str, bool]] | None:
    if outputs is None:
        return None
    if not isinstance(outputs, list):
        raise InvalidInput("'outputs' must be a list of objects with a 'name'")
    out = []
    for index, item in enumerate(outputs):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise InvalidInput(f"outputs[{index}] must be an object with a 'name'")
        parameters = item.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise InvalidInput(f"outputs[{index}]: 'parameters' must be an object")
        binary = parameters.get("binary_data", False)
        if not isinstance(binary, bool):
            raise InvalidInput(f"outputs[{index}]: 'binary_data' must be true or false")
        out.append((name, binary))
    return out


def decode_input(
    item: Any, index: int, binary: bytes = b"", offset: int = 0
) -> tuple[str, np.ndarray[Any, Any], int]:
    """One request input as ``(name, array, next_offset)``: its data from the JSON, or
    from ``binary`` at ``offset``; declared type and shape are checked, not trusted."""
    if not isinstance(item, dict):
        raise InvalidInput(f"inputs[{index}] must be an object with name, shape, datatype, data")
    name, shape, kind, data = (item.get(k) for k in ("name", "shape", "datatype", "data"))
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"inputs[{index}] needs a 'name' (a string)")
    where = f"input '{name[:64]}'"
    if not isinstance(kind, str) or kind not in DTYPES:
        raise InvalidInput(f"{where}: datatype must be one of {', '.join(DTYPES)}")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_DIMS
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise InvalidInput(
            f"{where}: shape must be a list of at most {MAX_DIMS} non-negative integers"
        )
    want = np.dtype(DTYPES[kind])
    size = binary_size(item, where)
    if size is not None:
        if data is not None:
            raise InvalidInput(f"{where}: send 'data' or binary_data_size, not both")
        if offset + size > len(binary):
            raise InvalidInput(
                f"{where}: binary_data_size is {size} bytes, but only {len(binary) - offset} "
                "bytes of binary data are left in the body"
            )
        raw = binary[offset : offset + size]
        return name, decode_tensor(raw, kind, want, shape, where), offset + size
    return name, _decode_json(data, kind, want, shape, where), offset


def _decode_json(
    data: Any, kind: str, want: np.dtype[Any], shape: list[int], where: str
) -> np.ndarray[Any, Any]:
    if data is None:
        raise InvalidInput(f"{where}: 'data' is missing")
    try:
        natural = np.asarray(data, dtype=object if kind == "BYTES" else None)
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise InvalidInput(f"{where}: 'data' is not a rectangular array") from None
    if natural.size != math.prod(shape):
        raise InvalidInput(
            f"{where}: shape {shape} needs {math.prod(shape)} values, got {natural.size}"
        )
    got = natural.dtype.kind
    if kind == "BYTES":
        if not all(isinstance(v, str) for v in natural.ravel().tolist()):
            raise SchemaError(f"{where}: BYTES data must be strings")
        return natural.reshape(shape)
    ok = (got == "b" and want.kind == "b") or (got in "iu" and want.kind in "iuf")
    ok = ok or (got == "f" and want.kind == "f")
    if not ok or natural.dtype == object:
        raise SchemaError(
            f"{where}: data does not match datatype {kind} (floats never become integers)"
        )
    if want.kind in "iu" and natural.size:
        info = np.iinfo(want)
        if natural.min() < info.min or natural.max() > info.max:
            raise SchemaError(f"{where}: values do not fit {kind}")
    return natural.astype(want).reshape(shape)


def check_input_names(schema: Schema | None, names: list[str]) -> None:
    """Refuse inputs the model does not take: each must name one of the signature's
    inputs (an unnamed signature takes as many tensors as it declares, by position)."""
    if schema is None:
        return
    declared = schema.input_names()
    if not declared:
        if len(names) > len(schema.inputs):
            raise SchemaError(
                f"the model takes {len(schema.inputs)} input(s), the request sends {len(names)}"
            )
        return
    unknown = [n for n in names if n not in declared]
    if unknown:
        shown = ", ".join(f"'{n[:64]}'" for n in unknown[:5])
        takes = ", ".join(f"'{n}'" for n in declared[:20])
        raise SchemaError(
            f"input(s) {shown} are not inputs of this model, which takes {takes}; "
            "name each input as GET /v2/models/{name} lists them"
        )


__all__ = [
    "DTYPES",
    "MAX_DIMS",
    "MAX_NESTING",
    "InferRequest",
    "check_input_names",
    "decode_input",
    "parse_infer_request",
]
