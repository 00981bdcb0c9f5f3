"""Registered versions as immutable, content-addressed snapshots, whichever store holds
them: ``verify`` checks a version's directory against the digest the registry recorded;
``cache`` keeps versions fetched from a remote artifact store in a local cache keyed by
that digest.

May import: ``modelpack.errors``, the model directory modules and ``artifact_stores``;
no tracking store.
"""
