"""The Open Inference Protocol's binary tensor data extension (as Triton and KServe define it).

A request or response body is a JSON header of ``Inference-Header-Content-Length`` bytes,
then the raw data of every tensor whose ``parameters`` carry ``binary_data_size``, one
after the other in the order of the header's ``inputs`` (``outputs``). Numbers are
little-endian and row-major, ``BOOL`` is one byte (0 or 1), and each ``BYTES`` element is
a 4-byte little-endian length followed by that many bytes. ``tritonclient`` sends inputs
this way by default and asks for outputs this way (``"binary_data_output": true``).

Sizes are checked against the declared shape and datatype before anything is decoded.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from modelpack.errors import InvalidInput, SchemaError

#: the header naming the length of the JSON part of a body
HEADER = "Inference-Header-Content-Length"
_LENGTH = struct.Struct("<I")


def split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """``(json_part, binary_part)`` of a request body; all JSON when the header is absent."""
    if header_length is None:
        return body, b""
    text = header_length.strip()
    if not text.isdigit() or len(text) > 19:
        raise InvalidInput(
            f"the {HEADER} header must be the byte length of the JSON part, a whole number"
        )
    size = int(text)
    if size > len(body):
        raise InvalidInput(
            f"the {HEADER} header says the JSON part has {size} bytes, "
            f"but the body has only {len(body)}"
        )
    return body[:size], body[size:]


def binary_size(item: dict[str, Any], where: str) -> int | None:
    """The input's ``binary_data_size`` parameter, or None when its data is in the JSON."""
    parameters = item.get("parameters")
    if parameters is None:
        return None
    if not isinstance(parameters, dict):
        raise InvalidInput(f"{where}: 'parameters' must be an object of name: value")
    size = parameters.get("binary_data_size")
    if size is None:
        return None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidInput(f"{where}: binary_data_size must be a non-negative whole number")
    return size


def decode_tensor(
    raw: bytes, kind: str, dtype: np.dtype[Any], shape: list[int], where: str
) -> np.ndarray[Any, Any]:
    """The array held by ``raw``, the binary data of one ``kind`` tensor of ``shape``."""
    count = math.prod(shape)
    if kind == "BYTES":
        return _decode_bytes(raw, count, where).reshape(shape)
    needed = count * dtype.itemsize
    if len(raw) != needed:
        raise InvalidInput(
            f"{where}: binary_data_size is {len(raw)} bytes, but shape {shape} of {kind} "
            f"needs {needed}; send shape * {dtype.itemsize} bytes"
        )
    if kind == "BOOL":
        raw_bytes = np.frombuffer(raw, dtype=np.uint8)
        if raw_bytes.size and raw_bytes.max() > 1:
            raise SchemaError(f"{where}: BOOL elements must be the bytes 0 or 1")
        return raw_bytes.astype(bool).reshape(shape)
    return np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape)


def _decode_bytes(raw: bytes, count: int, where: str) -> np.ndarray[Any, Any]:
    if count * _LENGTH.size > len(raw):
        raise InvalidInput(
            f"{where}: {count} BYTES elements need at least {count * _LENGTH.size} bytes "
            f"(a 4-byte length each), binary_data_size is {len(raw)}"
        )
    out = np.empty(count, dtype=object)
    offset = 0
    for i in range(count):
        (length,) = _LENGTH.unpack_from(raw, offset)
        offset += _LENGTH.size
        if offset + length > len(raw):
            raise InvalidInput(f"{where}: BYTES element {i} runs past binary_data_size")
        try:
            out[i] = raw[offset : offset + length].decode("utf-8")
        except UnicodeDecodeError:
            raise SchemaError(f"{where}: BYTES element {i} is not UTF-8 text") from None
        offset += length
    if offset != len(raw):
        raise InvalidInput(
            f"{where}: binary_data_size is {len(raw)} bytes, but the {count} BYTES elements "
            f"of its shape take {offset}"
        )
    return out


def encode_tensor(data: Any, kind: str, dtype: np.dtype[Any] | None) -> bytes:
    """The binary data of one output tensor: ``data`` is the array (numbers) or the list
    of JSON values (``BYTES``), as the JSON form of the output holds them."""
    if kind == "BYTES":
        chunks = []
        for value in data:
            text = b"" if value is None else str(value).encode("utf-8")
            chunks += [_LENGTH.pack(len(text)), text]
        return b"".join(chunks)
    arr = np.ascontiguousarray(data, dtype=dtype)
    if kind == "BOOL":
        return arr.astype(np.uint8).tobytes()
    return arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()


__all__ = ["HEADER", "binary_size", "decode_tensor", "encode_tensor", "split_body"]
