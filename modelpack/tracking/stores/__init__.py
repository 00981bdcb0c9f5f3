"""Tracking stores: where runs and registry metadata are kept, behind one interface.

- :mod:`~modelpack.tracking.stores.base`: the interface, :class:`TrackingStore`, which
  :class:`~modelpack.tracking.Client` and the fluent API call;
- :mod:`~modelpack.tracking.stores.backend`: which store a tracking URI means;
- :mod:`~modelpack.tracking.stores.sql`: the SQL store (SQLite embedded, PostgreSQL for
  a team), with its schema, migrations and the registry's snapshots;
- :mod:`~modelpack.tracking.stores.rest`: the client of a ``modelpack server`` (or an
  MLflow tracking server) over HTTP.

The two implementations do not import each other; both may import the public side of
``modelpack.tracking`` (entities, names, URI shapes), ``snapshots`` and
``artifact_stores``. Nothing here is imported by ``import modelpack``.
"""

from __future__ import annotations

from modelpack.tracking.stores.base import TrackingStore, is_http_uri

__all__ = ["TrackingStore", "is_http_uri"]
