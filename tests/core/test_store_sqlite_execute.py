"""One autocommitted statement on SQLite goes straight to the driver (``Store.execute``):
it must still map constraint failures, wait out a busy store and explain a refusal."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

import modelpack
from modelpack.errors import NotFound, StoreError
from modelpack.tracking import Client


def test_metric_for_a_missing_run_is_not_found(tracking_uri: str) -> None:
    client = Client()
    with pytest.raises(NotFound, match="start a run before logging"):
        client.log_metric("0" * 32, "loss", 1.0)


def test_a_busy_store_is_waited_for(tracking_uri: str) -> None:
    client = Client()
    run_id = client.create_run("0").info.run_id
    blocker = sqlite3.connect(
        client.store.db_path,  # type: ignore[arg-type]
        isolation_level=None,
        check_same_thread=False,
    )
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    release = threading.Timer(0.5, blocker.execute, ("COMMIT",))
    release.start()
    start = time.monotonic()
    try:
        client.log_metric(run_id, "loss", 0.5, step=1)
    finally:
        release.join()
        blocker.close()
    assert time.monotonic() - start >= 0.4
    assert [m.value for m in client.get_metric_history(run_id, "loss")] == [0.5]


def test_a_refused_write_is_a_store_error(tracking_uri: str) -> None:
    client = Client()
    with modelpack.start_run() as run:
        raw = client.store.connection().connection.driver_connection
        raw.execute("PRAGMA query_only = ON")  # type: ignore[union-attr]
        try:
            with pytest.raises(StoreError, match="read-only"):
                client.log_metric(run.info.run_id, "loss", 1.0)
        finally:
            raw.execute("PRAGMA query_only = OFF")  # type: ignore[union-attr]
    assert client.get_metric_history(run.info.run_id, "loss") == []
