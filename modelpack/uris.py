"""Model URIs: where a model directory is, given what a user typed.

Accepted: a local path, ``file://…``, ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``,
``models:/<name>/<stage>``, ``models:/<name>/latest``, ``models:/<name>@<alias>``.
"""

from __future__ import annotations

import os
from pathlib import Path

from modelpack.errors import InvalidURI, ModelNotFound
from modelpack.local_paths import local_path


def resolve_model_uri(uri: str | os.PathLike[str]) -> Path:
    """The local model directory ``uri`` points at.

    >>> resolve_model_uri("file:///tmp/model")  # doctest: +SKIP
    PosixPath('/tmp/model')
    """
    text = os.fspath(uri)
    if not isinstance(text, str) or not text or "\x00" in text:
        raise InvalidURI("model URI must be a non-empty string without NUL characters")
    if text.startswith(("runs:", "models:")):
        from modelpack.tracking.resolve import resolve_store_uri

        return resolve_store_uri(text)
    path = local_path(text, what="model URI", accepted="a local path, file://, runs:/ or models:/")
    if not path.is_dir():
        from modelpack.atomic_save import recover_interrupted_save

        recover_interrupted_save(path)  # a save killed mid-overwrite left the old model aside
    if not path.is_dir():
        raise ModelNotFound(f"no model directory at '{path}'")
    return path.resolve()


__all__ = ["local_path", "resolve_model_uri"]
