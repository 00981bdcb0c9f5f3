"""Fixtures for the REST client tests: one ``tracking_server_url`` fixture chooses the
server, parametrised over the servers that offer what a test needs (see ``servers.py``).

A test says ``@pytest.mark.needs("registry", "artifacts")``; without the marker it needs
only tracking and runs against both ``mlflow server`` and ``modelpack server``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rest.servers import SUPPORTS, mlflow_server
from tests.serve_process import serving
from tests.server.tracking_server import server_argv


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*features): server features a REST test needs")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tracking_server_url" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("needs")
    needs = {"tracking", *(marker.args if marker else ())}
    servers = [name for name, offers in SUPPORTS.items() if needs <= offers]
    metafunc.parametrize("tracking_server_url", servers, indirect=True)


@pytest.fixture(scope="session")
def mlflow_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


@pytest.fixture(scope="session")
def modelpack_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("modelpack-server")
    with serving(server_argv(f"sqlite:///{root / 'store.db'}"), cwd=root) as url:
        yield url


@pytest.fixture
def tracking_server_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """The URL of a running tracking server, made this test's tracking URI, with a
    fresh download cache and no credentials in the environment."""
    from modelpack.tracking import config, fluent

    url: str = request.getfixturevalue(f"{request.param}_server_url")
    for name in ("TRACKING_TOKEN", "TRACKING_USERNAME", "TRACKING_PASSWORD"):
        monkeypatch.delenv(f"MODELPACK_{name}", raising=False)
        monkeypatch.delenv(f"MLFLOW_{name}", raising=False)
    monkeypatch.delenv("MODELPACK_EXPERIMENT_NAME", raising=False)
    monkeypatch.setenv("MODELPACK_TRACKING_URI", url)
    monkeypatch.setenv("MODELPACK_CACHE_DIR", str(tmp_path / "cache"))
    config.reset_tracking_uri()
    yield url
    while fluent.active_run() is not None:
        fluent.end_run()
    config.reset_tracking_uri()
