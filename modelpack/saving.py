"""The save pipeline every flavor shares.

A flavor writes its payload and describes its ``MLmodel`` blocks; this module does the
rest the same way for all of them: requirement checks, signature (inferred from the
input example when not given), example files, environment files, hashes, and the
atomic rename into place.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack.environment import resolve_requirements, write_environment
from modelpack.errors import InvalidInput, ModelpackError
from modelpack.mlmodel import PYFUNC_FLAVOR, new_mlmodel
from modelpack.model_dir import finalize, staged_model_dir
from modelpack.types import JSONDict

if TYPE_CHECKING:
    from modelpack.signature import ModelSignature

#: Writes the payload into the staging directory and returns ``{flavor name: block}``;
#: the ``python_function`` block names at least ``loader_module``.
WritePayload = Callable[[Path], dict[str, JSONDict]]


def _signature(
    signature: ModelSignature | None,
    input_example: Any,
    predict: Callable[[Any], Any] | None,
) -> ModelSignature | None:
    if signature is None and input_example is None:
        return None
    from modelpack.signature import ModelSignature, infer_signature

    if signature is not None:
        if not isinstance(signature, ModelSignature):
            raise InvalidInput(
                f"signature must be a ModelSignature (see infer_signature), got {type(signature).__name__}"
            )
        return signature
    outputs = None
    if predict is not None:
        try:
            outputs = predict(input_example)
        except Exception:  # an example the model cannot score still documents the inputs
            outputs = None
    try:
        return infer_signature(input_example, outputs)
    except ModelpackError:
        return infer_signature(input_example)


def save_model_dir(
    path: str | os.PathLike[str],
    write_payload: WritePayload,
    *,
    default_requirements: Sequence[str],
    pip_requirements: Iterable[str] | None = None,
    extra_pip_requirements: Iterable[str] | None = None,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    metadata: JSONDict | None = None,
    overwrite: bool = False,
    predict_example: Callable[[Any], Any] | None = None,
) -> JSONDict:
    """Save a model directory at ``path`` atomically; return its ``MLmodel`` dict."""
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidInput(f"metadata must be a dict, got {type(metadata).__name__}")
    requirements = resolve_requirements(
        default_requirements, pip_requirements, extra_pip_requirements
    )
    resolved_signature = _signature(signature, input_example, predict_example)
    with staged_model_dir(path, overwrite=overwrite) as tmp:
        flavors = write_payload(tmp)
        pyfunc = flavors.get(PYFUNC_FLAVOR)
        if pyfunc is None or "loader_module" not in pyfunc:
            raise InvalidInput("internal: a flavor must write a python_function block")
        pyfunc["python_version"] = platform.python_version()
        pyfunc["env"] = write_environment(tmp, requirements)
        mlmodel = new_mlmodel(flavors=flavors, metadata=metadata)
        if resolved_signature is not None:
            mlmodel["signature"] = resolved_signature.to_dict()
        if input_example is not None:
            from modelpack.input_example import save_input_example

            mlmodel["saved_input_example_info"] = save_input_example(tmp, input_example)
        mlmodel["model_size_bytes"] = sum(f.stat().st_size for f in tmp.rglob("*") if f.is_file())
        finalize(tmp, mlmodel)
    return mlmodel


__all__ = ["WritePayload", "save_model_dir"]
