"""Small checks shared by the spec and enforcement modules of this package.

Each returns the cleaned value or raises :class:`SchemaError` with a message that says
where, and never echoes the data it was given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelpack.errors import SchemaError
from modelpack.messages import quoted


def require_field(d: Mapping[str, Any], key: str, where: str) -> Any:
    """``d[key]``, or a :class:`SchemaError` naming the missing field and ``where``."""
    try:
        return d[key]
    except KeyError:
        raise SchemaError(f"{where}: missing the '{key}' field") from None


def loads_json(text: Any, what: str) -> Any:
    """Parse JSON ``text``; a non-string or malformed text is a :class:`SchemaError`."""
    if not isinstance(text, (str, bytes)):
        raise SchemaError(f"a {what} must be a JSON string, got {type(text).__name__}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:  # its message holds position only, not data
        raise SchemaError(f"the {what} is not valid JSON ({e.msg} at position {e.pos})") from None
    except UnicodeDecodeError:
        raise SchemaError(f"the {what} is not valid UTF-8 text") from None
    except RecursionError:
        raise SchemaError(
            f"the {what} is nested too deeply to read (thousands of levels); "
            "a signature needs only a few"
        ) from None


def cast_checked(where: str, arr: np.ndarray, want: np.dtype[Any]) -> np.ndarray:
    """``arr`` as ``want``; a value that overflows it is a :class:`SchemaError`."""
    try:
        with np.errstate(over="raise", invalid="raise"):
            return arr.astype(want)
    except (FloatingPointError, OverflowError):
        raise SchemaError(f"{where}: values too large for {want}") from None


__all__ = ["cast_checked", "loads_json", "quoted", "require_field"]
