"""A model's signature as table rows, from its ``MLmodel`` file (no model is loaded)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from modelpack.errors import ModelpackError

#: the most of an input example a page shows
MAX_EXAMPLE_BYTES = 64 * 1024


@dataclass(frozen=True)
class SignatureRow:
    """One input or output: name, type (dtype and shape for a tensor), required."""

    name: str
    type: str
    required: bool


def _rows(block: Any) -> list[SignatureRow]:
    if block is None:
        return []
    try:
        elements = json.loads(block) if isinstance(block, str) else block
    except ValueError:
        return []
    rows = []
    for i, element in enumerate(elements if isinstance(elements, list) else []):
        if not isinstance(element, dict):
            continue
        name = str(element.get("name", i))
        if element.get("type") == "tensor":
            info = element.get("tensor-spec", {})
            kind = f"tensor {info.get('dtype', '?')} {tuple(info.get('shape', ()))}"
        else:
            kind = str(element.get("type", "?"))
        required = bool(element.get("required", not element.get("optional", False)))
        rows.append(SignatureRow(name, kind, required))
    return rows


def signature_rows(mlmodel: dict[str, Any]) -> dict[str, list[SignatureRow]]:
    """``{"inputs": [...], "outputs": [...], "params": [...]}`` of an ``MLmodel`` dict."""
    block = mlmodel.get("signature") or {}
    if not isinstance(block, dict):
        return {"inputs": [], "outputs": [], "params": []}
    return {key: _rows(block.get(key)) for key in ("inputs", "outputs", "params")}


def read_model_summary(model_dir: str) -> dict[str, Any] | None:
    """Flavors, signature rows and the input example's text of a model directory
    (None when it is not a readable model directory)."""
    from modelpack.mlmodel import read_mlmodel
    from modelpack.model_dir import safe_join
    from modelpack.model_files import open_regular

    try:
        mlmodel = read_mlmodel(model_dir)
    except ModelpackError:
        return None
    example_text = None
    info = mlmodel.get("saved_input_example_info")
    if isinstance(info, dict):
        relative = info.get("serving_input_path") or info.get("artifact_path")
        try:
            path = safe_join(model_dir, relative, what="saved_input_example_info")
            with open_regular(path, str(relative)) as handle:
                example_text = handle.read(MAX_EXAMPLE_BYTES).decode("utf-8", "replace")
        except ModelpackError:
            example_text = None
    return {
        "flavors": sorted(mlmodel.get("flavors", {})),
        "signature": signature_rows(mlmodel),
        "input_example": example_text,
        "run_id": mlmodel.get("run_id"),
    }


__all__ = ["SignatureRow", "read_model_summary", "signature_rows"]
