"""Helpers for the tracking server tests: its command line and a handle on a running one."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

API = "/api/2.0/mlflow"


@dataclass(frozen=True)
class RunningServer:
    """A started server: its base URL and the store (and auth file) behind it."""

    url: str
    store_uri: str
    auth_db: Path | None = None

    def api(self, path: str) -> str:
        """The full URL of a REST path such as ``/runs/create``."""
        return f"{self.url}{API}{path}"


def server_argv(store_uri: str, *extra: str) -> list[str]:
    """The command line of a tracking server on a free 127.0.0.1 port."""
    return [sys.executable, "-m", "modelpack", "server", "--backend-store-uri", store_uri,
            "--host", "127.0.0.1", "--port", "0", *extra]  # fmt: skip
