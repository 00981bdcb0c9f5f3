"""The web UI: experiments, runs, charts, artifacts, the model registry, run comparison.

Server-rendered pages (Starlette + Jinja2), htmx and uPlot vendored under ``static/``;
no JavaScript build step. May import modelpack core and ``modelpack.server.auth``;
never ``serving`` or a flavor.
"""

from __future__ import annotations

from modelpack.ui.app import build_ui, ui_mount

__all__ = ["build_ui", "ui_mount"]
