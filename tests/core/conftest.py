"""Shared fixtures for the core tests: tracking stores and fake model directories."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.pg_server import PostgresServer
from tests.s3_server import MotoServer
from tests.tracking_env import current_store

MakeModelDir = Callable[..., Path]


@pytest.fixture
def make_model_dir(tmp_path: Path) -> MakeModelDir:
    """Factory: a minimal model directory (``MLmodel`` YAML + one payload file).

    ``make_model_dir(payload=b"...", size=0, name=None)`` returns its path.
    """

    def make(payload: bytes = b"weights", size: int = 0, name: str | None = None) -> Path:
        path = tmp_path / "models" / (name or uuid.uuid4().hex[:8])
        path.mkdir(parents=True)
        data = payload + os.urandom(size) if size else payload
        (path / "model.bin").write_bytes(data)
        mlmodel = {
            "flavors": {"fake": {"data": "model.bin"}},
            "model_uuid": uuid.uuid4().hex,
            "signature": {"inputs": '[{"type": "double", "name": "x"}]'},
        }
        (path / "MLmodel").write_text(yaml.safe_dump(mlmodel), encoding="utf-8")
        return path

    return make


@pytest.fixture
def save_fake_model() -> Callable[[Path], None]:
    """A ``save`` callable for ``log_model_dir``: writes a fake model at the path it gets."""

    def save(path: Path) -> None:
        path.mkdir()
        (path / "model.bin").write_bytes(b"weights")
        mlmodel = {"flavors": {"fake": {"data": "model.bin"}}, "model_uuid": uuid.uuid4().hex}
        (path / "MLmodel").write_text(yaml.safe_dump(mlmodel), encoding="utf-8")

    return save


@pytest.fixture(params=["sqlite", "postgresql"])
def any_tracking_uri(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Like ``tracking_uri``, once on SQLite and once on a fresh PostgreSQL database.

    A test module opts in by defining ``tracking_uri`` as this fixture, so the same
    tests hold both backends to one behaviour.
    """
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'store' / 'modelpack.db'}"
        monkeypatch.delenv("MODELPACK_ARTIFACT_ROOT", raising=False)
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        uri = server.create_database()
        monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", str(tmp_path / "store" / "artifacts"))
    with current_store(uri, monkeypatch):
        yield uri
    if request.param == "postgresql":
        from modelpack.tracking.stores.sql.engine import get_store

        get_store(uri).dispose()  # free the server's connection slots


@pytest.fixture
def s3_env(
    s3_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """This test's process set up for the S3 endpoint: a fresh bucket as
    ``MODELPACK_ARTIFACT_ROOT`` (``s3://<bucket>/artifacts``), the endpoint, test
    credentials, and a model cache in ``tmp_path``. Returns the variables set."""
    env = {
        **s3_server.environ(),
        "MODELPACK_ARTIFACT_ROOT": f"s3://{s3_server.create_bucket()}/artifacts",
        "MODELPACK_CACHE_DIR": str(tmp_path / "cache"),
    }
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def s3_tracking_uri(tracking_uri: str, s3_env: dict[str, str]) -> str:
    """A SQLite tracking store with its artifacts on the S3 endpoint."""
    from modelpack.tracking import config

    config.reset_tracking_uri()
    return tracking_uri


@pytest.fixture(params=["local", "s3"])
def artifact_kind(request: pytest.FixtureRequest) -> str:
    """``local`` or ``s3``: where ``tracking_uri_on`` puts the artifacts."""
    return str(request.param)


@pytest.fixture
def tracking_uri_on(
    artifact_kind: str, request: pytest.FixtureRequest, tracking_uri: str
) -> Iterator[str]:
    """``tracking_uri`` (SQLite) with its artifacts in a local directory or on S3, so one
    test holds both artifact stores to one behaviour."""
    from modelpack.tracking import config

    if artifact_kind == "s3":
        request.getfixturevalue("s3_env")
        config.reset_tracking_uri()
    yield tracking_uri
