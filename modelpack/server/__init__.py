"""``modelpack server``: MLflow's tracking REST API over the tracking store, with auth."""

from __future__ import annotations

from modelpack.server.app import ServerConfig, build_app

__all__ = ["ServerConfig", "build_app"]
