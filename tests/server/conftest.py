"""A real ``modelpack server`` process on 127.0.0.1, started once per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.serve_process import serving
from tests.server.tracking_server import RunningServer, server_argv


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """An open (no ``--auth``) tracking server on a fresh SQLite store."""
    root = tmp_path_factory.mktemp("tracking-server")
    store_uri = f"sqlite:///{root / 'store.db'}"
    with serving(server_argv(store_uri), cwd=root) as url:
        yield RunningServer(url, store_uri)
