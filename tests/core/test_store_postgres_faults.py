"""PostgreSQL down or restarted under a client: clear errors, retries, nothing half-done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from modelpack.errors import StoreError
from modelpack.tracking import Client
from modelpack.tracking.resolve import resolve_models_uri
from tests.lossy_proxy import LossyProxy
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


@pytest.fixture
def lossy(postgres_server: PostgresServer) -> Iterator[tuple[str, str, LossyProxy]]:
    """A fresh database: its URL, the URL of a proxy to it that can lose a reply, and
    the proxy."""
    direct = postgres_server.create_database()
    proxy = LossyProxy(("127.0.0.1", postgres_server.port))
    try:
        yield direct, direct.replace(f":{postgres_server.port}/", f":{proxy.port}/"), proxy
    finally:
        proxy.close()


@pytest.mark.parametrize("shared", [False, True], ids=["new-content", "shared-blob"])
def test_a_lost_reply_to_a_committed_registration_is_not_registered_twice(
    lossy: tuple[str, str, LossyProxy],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_model_dir: Callable[..., Path],
    shared: bool,
) -> None:
    """The server commits the version, then the connection dies before the client reads
    the answer. Running the statement again would record a second version; the store
    looks for the one it wrote first and answers with it."""
    direct, through, proxy = lossy
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    source = make_model_dir()
    setup = Client(direct)
    setup.create_registered_model("lossy")
    if shared:  # a version already holds this content: the one-statement, lock-free path
        setup.create_registered_model("other")
        setup.create_model_version("other", source)
    try:
        client = Client(through)
        client.search_registered_models()  # connected, before the proxy is armed
        proxy.lose_reply_to(b"INSERT INTO model_versions")
        version = client.create_model_version("lossy", source)
        assert proxy.lost == 1
        assert version.version == 1
        assert [v.version for v in setup.search_model_versions("name = 'lossy'")] == [1]
        _, _, directory = resolve_models_uri("models:/lossy/1", setup.backend)
        assert (directory / "model.bin").read_bytes() == (source / "model.bin").read_bytes()
        assert client.create_model_version("lossy", source).version == 2  # and it goes on
    finally:
        setup.store.dispose()


def test_a_lost_reply_to_a_committed_metric_point_is_not_logged_twice(
    lossy: tuple[str, str, LossyProxy], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    direct, through, proxy = lossy
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    setup = Client(direct)
    run_id = setup.create_run(setup.create_experiment("lossy")).info.run_id
    try:
        client = Client(through)
        client.log_metric(run_id, "loss", 0.5, step=1)
        proxy.lose_reply_to(b"INSERT INTO metrics")
        client.log_metric(run_id, "loss", 0.25, step=2)
        client.log_metric(run_id, "loss", float("nan"), step=3)
        assert proxy.lost == 1
        history = setup.get_metric_history(run_id, "loss")
        assert [(p.step, p.value) for p in history][:2] == [(1, 0.5), (2, 0.25)]
        assert len(history) == 3
    finally:
        setup.store.dispose()
