"""Suite-wide: a fresh embedded tracking store per test (``tracking_uri``), the real
database and S3 servers, one each per session, and a guard that a test run leaves
nothing big in the checkout.

Caches the tests build (virtualenvs, the MLflow environment) live outside the
checkout, under ``$MODELPACK_TEST_CACHE`` (default ``~/.cache/modelpack-tests``, see
``mlflow_venv.cache_dir``). A file of more than 1 MB that appears in the checkout
during the run, or any new name at its top (``build/``, ``modelpack-store/``; tools'
caches aside), fails the run, with its path, so a test that writes into the
repository is found the day it is written. ``.git`` is not looked at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported in the fixtures: the guard alone is also copied elsewhere
    from tests.pg_server import PostgresServer
    from tests.s3_server import MotoServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tracking_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite tracking store in ``tmp_path``, made current for this test."""
    from tests.tracking_env import current_store  # here: the guard's copies run alone

    monkeypatch.delenv("MODELPACK_ARTIFACT_ROOT", raising=False)
    with current_store(f"sqlite:///{tmp_path / 'store' / 'modelpack.db'}", monkeypatch) as uri:
        yield uri


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session (installed with apt-get if missing)."""
    from tests.pg_server import PostgresServer

    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[MotoServer]:
    """One real S3 endpoint (moto_server on loopback) for the session; missing: a failure."""
    from tests.s3_server import MotoServer

    server = MotoServer.start()
    try:
        yield server
    finally:
        server.stop()


BIG_BYTES = 1 << 20
_before = pytest.StashKey[dict[str, int]]()
_top_before = pytest.StashKey[set[str]]()


def big_files(root: Path = ROOT) -> dict[str, int]:
    """Every file under ``root`` (``.git`` aside) larger than 1 MB: path -> size."""
    found: dict[str, int] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not (folder == str(root) and d == ".git")]
        for name in files:
            path = os.path.join(folder, name)
            try:
                size = os.lstat(path).st_size
            except OSError:
                continue
            if size > BIG_BYTES:
                found[os.path.relpath(path, root)] = size
    return found


def new_big_files(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """Files that are new, or grew, between the two listings."""
    return sorted(path for path, size in after.items() if size > before.get(path, 0))


#: what tools make at the top of a checkout on their own (pytest's cache plugin, linters)
TOOL_DIRS = frozenset({".pytest_cache", ".mypy_cache", ".ruff_cache", "__pycache__"})


def top_level(root: Path = ROOT) -> set[str]:
    """Names at the top of the checkout, tools' caches aside."""
    return {p.name for p in root.iterdir()} - TOOL_DIRS


def pytest_sessionstart(session: pytest.Session) -> None:
    session.stash[_before] = big_files()
    session.stash[_top_before] = top_level()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.stash.get(_before, None)
    if before is None:
        return
    left = new_big_files(before, big_files())
    new_names = top_level() - session.stash.get(_top_before, set())
    left += [f"{name} (new at the top of the checkout)" for name in sorted(new_names)]
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = "\n  ".join(left[:20])
        text = (
            f"the test run left {len(left)} file(s) over 1 MB or new entries in the checkout "
            f"{ROOT}; "
            f"tests must write to tmp_path or $MODELPACK_TEST_CACHE:\n  {lines}"
        )
        if reporter is not None:
            reporter.write_line(f"ERROR: {text}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
