"""The SQL tracking store on SQLAlchemy Core: SQLite (the embedded default) or PostgreSQL.

``engine`` opens a store (connections, transactions, retries, errors without
credentials); ``location`` turns a URI into a database and an artifact root;
``schema`` and ``migrations`` hold its tables (Alembic). The rest is the store's
behaviour, one concern per module: ``runs``, ``lifecycle``, ``logged_models``,
``run_artifacts``, ``search`` and ``run_page`` for tracking; ``registry`` (new models
and versions), ``registry_read`` and ``registry_edit`` for the model registry;
``artifacts`` for where files go; ``resolve`` for ``runs:/`` and ``models:/`` URIs;
``store`` puts them behind :class:`~modelpack.tracking.stores.base.TrackingStore`.

May import: ``modelpack.errors``, the model directory modules, the public side of
``modelpack.tracking`` (entities, names, search grammar, URI shapes), ``snapshots`` and
``artifact_stores``; never ``stores.rest``.
"""

from __future__ import annotations

from modelpack.tracking.stores.sql.engine import IntegrityViolation, Store, Tx, get_store, os_errors
from modelpack.tracking.stores.sql.location import locate_store, redact

__all__ = ["IntegrityViolation", "Store", "Tx", "get_store", "locate_store", "os_errors", "redact"]
