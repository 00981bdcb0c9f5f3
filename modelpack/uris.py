"""Model URIs: where a model directory is, given what a user typed.

Accepted: a local path, ``file://…``, ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``,
``models:/<name>/<stage>``, ``models:/<name>/latest``, ``models:/<name>@<alias>``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from modelpack.errors import InvalidURI, ModelNotFound


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
    if text.startswith("file:"):
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise InvalidURI(f"file URI must name a local path, got host '{parsed.netloc}'")
        text = unquote(parsed.path)
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise InvalidURI(
            f"unsupported model URI scheme '{scheme}'; use a local path, file://, runs:/ or models:/"
        )
    path = Path(text).expanduser()
    if not path.is_dir():
        raise ModelNotFound(f"no model directory at '{path}'")
    return path.resolve()


__all__ = ["resolve_model_uri"]
