"""Local paths from what a user typed: a plain path or a ``file:`` URI on this host.

A leaf module (it imports only the errors), so both URI resolution and the stores
can use it without importing each other.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from modelpack.errors import InvalidURI


def local_path(text: str, *, what: str, accepted: str) -> Path:
    """The local path named by ``text``: a plain path or a ``file:`` URI on this host.

    Any other scheme is refused; ``what`` and ``accepted`` word the error
    (e.g. ``what="model URI"``, ``accepted="a local path, file://, runs:/ or models:/"``).
    """
    if text.startswith("file:"):
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise InvalidURI(f"file {what} must name a local path, got host '{parsed.netloc}'")
        text = unquote(parsed.path)
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise InvalidURI(f"unsupported {what} scheme '{scheme}'; use {accepted}")
    return Path(text).expanduser()


__all__ = ["local_path"]
