"""Which tracking store this process uses.

Order: :func:`set_tracking_uri`, then ``MODELPACK_TRACKING_URI``, then the directory
``./modelpack-store`` (fixed to an absolute path when first used, so a later
``chdir`` does not move the store).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from modelpack.errors import InvalidInput
from modelpack.tracking.stores.base import is_http_uri
from modelpack.tracking.stores.rest.server_url import server_url
from modelpack.tracking.stores.sql.location import (
    DEFAULT_STORE_DIR,
    TRACKING_URI_ENV,
    locate_store,
)

_lock = threading.Lock()
_tracking_uri: str | None = None


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Use the store at ``uri`` from now on: ``sqlite:///file.db``, a directory, ``file://``,
    ``postgresql://user:password@host:port/db`` (artifacts: ``MODELPACK_ARTIFACT_ROOT``) or a
    tracking server ``http(s)://host:port`` (``modelpack server`` or ``mlflow server``).

    >>> import modelpack
    >>> modelpack.set_tracking_uri("sqlite:////tmp/store/modelpack.db")  # doctest: +SKIP
    """
    global _tracking_uri
    text = os.fspath(uri)
    if isinstance(text, str) and is_http_uri(text):
        server_url(text)  # validate now, not at first use
    else:
        locate_store(text)  # validate now, not at first use
    if "://" not in text and not text.startswith("sqlite:"):
        text = str(Path(text).expanduser().resolve())
    with _lock:
        _tracking_uri = text


def get_tracking_uri() -> str:
    """The tracking URI in effect (see the module docstring for the order).

    >>> import modelpack
    >>> modelpack.get_tracking_uri()  # doctest: +SKIP
    '/home/me/project/modelpack-store'
    """
    with _lock:
        if _tracking_uri is not None:
            return _tracking_uri
    from_env = os.environ.get(TRACKING_URI_ENV)
    if from_env:
        return from_env
    return str(Path(DEFAULT_STORE_DIR).resolve())


def is_tracking_uri_set() -> bool:
    """Whether a tracking URI was chosen: by :func:`set_tracking_uri` or in the environment
    (``MODELPACK_TRACKING_URI``), rather than the default ``./modelpack-store``."""
    with _lock:
        if _tracking_uri is not None:
            return True
    return bool(os.environ.get(TRACKING_URI_ENV))


def _same_place(uri: str) -> str:
    if "://" in uri or uri.startswith("sqlite:"):
        return uri
    return str(Path(uri).expanduser().resolve())


def check_registry_uri(registry_uri: str | os.PathLike[str], tracking_uri: str) -> None:
    """Accept a registry URI only when it is ``tracking_uri``: the model registry lives in
    the tracking store (``InvalidInput`` otherwise, without echoing either URI, which may
    hold a password)."""
    text = os.fspath(registry_uri)
    if not isinstance(text, str) or _same_place(text) != _same_place(tracking_uri):
        raise InvalidInput(
            "the model registry lives in the tracking store here, so the registry URI must "
            "be the tracking URI; call modelpack.set_tracking_uri(uri) (or pass "
            "tracking_uri=) to use one store for both"
        )


def reset_tracking_uri() -> None:
    """Forget :func:`set_tracking_uri` (the environment and default apply again)."""
    global _tracking_uri
    with _lock:
        _tracking_uri = None


__all__ = [
    "check_registry_uri",
    "get_tracking_uri",
    "is_tracking_uri_set",
    "reset_tracking_uri",
    "set_tracking_uri",
]
