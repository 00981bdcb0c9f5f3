"""Tracking stores: where runs and registry metadata are kept, behind one interface."""

from __future__ import annotations

from modelpack.tracking.stores.base import TrackingStore, is_http_uri
from modelpack.tracking.stores.location import (
    ARTIFACT_ROOT_ENV,
    DB_FILE,
    DEFAULT_STORE_DIR,
    TRACKING_URI_ENV,
    StoreLocation,
    locate_store,
    redact,
)
from modelpack.tracking.stores.sql import IntegrityViolation, Store, Tx, get_store, os_errors

__all__ = [
    "ARTIFACT_ROOT_ENV",
    "DB_FILE",
    "DEFAULT_STORE_DIR",
    "TRACKING_URI_ENV",
    "IntegrityViolation",
    "Store",
    "StoreLocation",
    "TrackingStore",
    "Tx",
    "get_store",
    "is_http_uri",
    "locate_store",
    "redact",
    "os_errors",
]
