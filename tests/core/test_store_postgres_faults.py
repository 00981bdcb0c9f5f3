"""PostgreSQL down or restarted under a client: clear errors, retries, nothing half-done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modelpack.errors import StoreError
from modelpack.tracking import Client
from tests.pg_server import PostgresServer

MakeModelDir = Callable[..., Path]


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A server of this test's own, so stopping it disturbs no other test."""
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(
    own_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Client]:
    database = own_server.create_database().rsplit("/", 1)[1]
    # trust authentication ignores the password, so it can be a secret we look for later
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    client = Client(own_server.url(database, password="hunter2-secret"))
    yield client
    client.store.dispose()


def test_a_restart_between_calls_is_retried_transparently(
    client: Client, own_server: PostgresServer
) -> None:
    run = client.create_run("0")
    client.log_metric(run.info.run_id, "loss", 0.5, step=0)
    own_server.restart()  # the store's open connection is now dead
    client.log_metric(run.info.run_id, "loss", 0.25, step=1)
    history = client.get_metric_history(run.info.run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.25)]


def test_a_stopped_server_is_a_clear_error_naming_the_host_not_the_password(
    client: Client, own_server: PostgresServer, make_model_dir: MakeModelDir
) -> None:
    client.create_registered_model("m")
    client.create_model_version("m", str(make_model_dir(payload=b"one")))
    own_server.stop(remove=False)
    with pytest.raises(StoreError) as caught:
        client.create_model_version("m", str(make_model_dir(payload=b"two")))
    message = str(caught.value)
    assert f"127.0.0.1:{own_server.port}" in message
    assert "cannot be reached" in message
    assert "hunter2" not in message and "hunter2" not in repr(client.store)
    own_server._pg_ctl_start()
    # the failed registration left nothing: no row, and the next number is 2
    assert [v.version for v in client.search_model_versions("name = 'm'")] == [1]
    assert client.create_model_version("m", str(make_model_dir(payload=b"three"))).version == 2
