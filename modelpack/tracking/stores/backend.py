"""Which :class:`~modelpack.tracking.stores.base.TrackingStore` a tracking URI means:
the REST client for ``http(s)://``, the embedded SQL store for everything else.

>>> open_tracking_store("http://127.0.0.1:5000").display  # doctest: +SKIP
'http://127.0.0.1:5000'
"""

from __future__ import annotations

from modelpack.tracking.config import get_tracking_uri
from modelpack.tracking.stores.base import TrackingStore, is_http_uri
from modelpack.tracking.stores.sql.engine import get_store


def open_tracking_store(uri: str) -> TrackingStore:
    """The store for ``uri`` (the HTTP client is imported only for an ``http(s)://`` URI)."""
    if is_http_uri(uri):
        from modelpack.tracking.stores.rest.store import rest_store

        return rest_store(uri)
    from modelpack.tracking.stores.sql.store import SqlTrackingStore

    return SqlTrackingStore(get_store(uri))


def current_tracking_store() -> TrackingStore:
    """The store for :func:`~modelpack.tracking.config.get_tracking_uri`."""
    return open_tracking_store(get_tracking_uri())


__all__ = ["current_tracking_store", "open_tracking_store"]
