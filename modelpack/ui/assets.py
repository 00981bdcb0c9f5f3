"""Where the UI's templates and static files live, and the ``/static`` mount that serves
them (the UI, and ``modelpack serve``'s model page)."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATES_DIR = HERE / "templates"


def static_mount(path: str = "/static") -> Mount:
    """The UI's CSS, scripts and vendored libraries at ``path``."""
    return Mount(path, StaticFiles(directory=STATIC_DIR), name="static")


__all__ = ["HERE", "STATIC_DIR", "TEMPLATES_DIR", "static_mount"]
