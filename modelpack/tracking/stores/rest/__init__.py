"""The REST tracking store: a ``modelpack server`` (or an MLflow tracking server) over HTTP.

``store`` is the :class:`~modelpack.tracking.stores.base.TrackingStore`; ``registry`` its
model-registry half; ``http`` the one keep-alive session per server and process;
``wire`` MLflow's JSON to modelpack's entities; ``artifacts`` run artifacts through the
server's proxy; ``cache`` the local copies of registered versions; ``server_url`` a
server URI split from its credentials (no httpx: ``config`` uses it to redact).

May import: ``modelpack.errors``, the public side of ``modelpack.tracking`` (entities,
names, URI shapes), ``snapshots`` and ``artifact_stores``; never ``stores.sql``. httpx
is imported only by ``http``, so nothing here costs an import until an ``http://`` URI
is used.
"""
