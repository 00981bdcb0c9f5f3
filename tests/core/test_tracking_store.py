"""Store selection, schema migration, SQLite settings and failure handling."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

import pytest

import modelpack
from modelpack.errors import InvalidURI, StoreError
from modelpack.tracking import Client, config
from modelpack.tracking.stores.sql.engine import Store
from modelpack.tracking.stores.sql.location import locate_store
from modelpack.tracking.stores.sql.schema import (
    HEAD,
    LEGACY_MIGRATIONS,
    LEGACY_SENTINEL,
    statements,
)


def test_sqlite_uri_puts_artifacts_beside_the_file(tmp_path: Path) -> None:
    location = locate_store(f"sqlite:///{tmp_path}/x/db.sqlite")
    assert location.db_path == tmp_path / "x" / "db.sqlite"
    assert location.artifact_root == tmp_path / "x" / "artifacts"


def test_relative_sqlite_uri(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert locate_store("sqlite:///rel.db").db_path == tmp_path / "rel.db"


def test_directory_and_file_uri(tmp_path: Path) -> None:
    for uri in (str(tmp_path / "s"), (tmp_path / "s").as_uri()):
        location = locate_store(uri)
        assert location.db_path == tmp_path / "s" / "modelpack.db"
        assert location.artifact_root == tmp_path / "s" / "artifacts"


def test_artifact_root_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", str(tmp_path / "blobs"))
    assert locate_store(f"sqlite:///{tmp_path}/db").artifact_root == tmp_path / "blobs"


@pytest.mark.parametrize("uri", ["http://host:5000", "sqlite:/x.db", "sqlite:///", "", "a\x00b"])
def test_bad_tracking_uris(uri: str) -> None:
    with pytest.raises(InvalidURI):
        locate_store(uri)


def test_a_file_is_not_a_directory_store(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(InvalidURI, match="is a file"):
        modelpack.set_tracking_uri(tmp_path / "f")


def test_default_store_is_modelpack_store_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MODELPACK_TRACKING_URI", raising=False)
    config.reset_tracking_uri()
    assert modelpack.get_tracking_uri() == str(tmp_path / "modelpack-store")
    monkeypatch.setenv("MODELPACK_TRACKING_URI", "sqlite:///env.db")
    assert modelpack.get_tracking_uri() == "sqlite:///env.db"
    modelpack.set_tracking_uri(tmp_path / "explicit")
    try:
        assert modelpack.get_tracking_uri() == str(tmp_path / "explicit")
        modelpack.set_experiment("e")
        assert (tmp_path / "explicit" / "modelpack.db").is_file()
    finally:
        config.reset_tracking_uri()


def test_store_uses_wal(tracking_uri: str) -> None:
    conn = Client().store.connection()
    assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def _old_store(path: Path) -> None:
    conn = sqlite3.connect(path)
    for statement in statements(LEGACY_MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("CREATE TABLE modelpack_schema (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO modelpack_schema VALUES (1)")
    conn.execute(
        "INSERT INTO runs (run_id, experiment_id, run_name, status, start_time) "
        "VALUES ('0123456789abcdef0123456789abcdef', 0, 'old', 'FINISHED', 1)"
    )
    conn.commit()
    conn.close()


def test_an_older_store_is_migrated_on_open(tmp_path: Path) -> None:
    _old_store(tmp_path / "old.db")
    client = Client(f"sqlite:///{tmp_path}/old.db")
    assert client.get_run("0123456789abcdef0123456789abcdef").info.run_name == "old"
    assert client.create_registered_model("now-possible").name == "now-possible"
    assert client.store.read("SELECT version_num FROM alembic_version")[0][0] == HEAD
    # an old modelpack (sqlite3 migrations) now sees a newer store and refuses it clearly
    assert client.store.read("SELECT version FROM modelpack_schema")[0][0] == LEGACY_SENTINEL


def test_a_newer_store_is_refused(tmp_path: Path) -> None:
    Client(f"sqlite:///{tmp_path}/new.db").search_experiments()
    conn = sqlite3.connect(tmp_path / "new.db")
    conn.execute("UPDATE alembic_version SET version_num = 'f00dcafe'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="revision f00dcafe, newer .* upgrade modelpack"):
        Store(locate_store(f"sqlite:///{tmp_path}/new.db")).read("SELECT 1")
    conn = sqlite3.connect(tmp_path / "new.db")
    assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("f00dcafe",)]


def test_a_corrupt_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a modelpack store or is corrupt"):
        Client(f"sqlite:///{tmp_path}/bad.db").search_experiments()


def test_full_disk_is_a_store_error_and_keeps_data(tracking_uri: str) -> None:
    with modelpack.start_run() as run:
        modelpack.log_metric("kept", 1.0)
        conn = Client().store.connection()
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")  # the database cannot grow: "full"
        with pytest.raises(StoreError, match="disk is full"):
            modelpack.log_metrics({f"m{i}": float(i) for i in range(5000)})
        conn.exec_driver_sql("PRAGMA max_page_count = 1073741823")
    assert Client().get_run(run.info.run_id).data.metrics == {"kept": 1.0}


def test_read_only_store_is_a_store_error(tracking_uri: str) -> None:
    with modelpack.start_run() as run:
        modelpack.log_param("kept", 1)
        conn = Client().store.connection()
        conn.exec_driver_sql(
            "PRAGMA query_only = 1"
        )  # root ignores chmod; SQLite's own read-only switch
        try:
            with pytest.raises(StoreError, match="read-only"):
                modelpack.log_param("more", 2)
            with pytest.raises(StoreError, match="read-only"):
                modelpack.log_metric("m", 1.0)
        finally:
            conn.exec_driver_sql("PRAGMA query_only = 0")
    assert Client().get_run(run.info.run_id).data.params == {"kept": "1"}


def test_full_disk_on_artifacts(
    tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a.txt").write_text("first")
    with modelpack.start_run() as run:
        modelpack.log_artifact(tmp_path / "a.txt")

        def no_space(*args: object, **kwargs: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(shutil, "copyfile", no_space)
        (tmp_path / "a.txt").write_text("second")
        with pytest.raises(StoreError, match="disk is full"):
            modelpack.log_artifact(tmp_path / "a.txt")
    client = Client()
    assert client.download_artifacts(run.info.run_id, "a.txt").read_text() == "first"
    assert list(client.store.staging_dir.iterdir()) == []


def test_stale_staging_leftovers_are_swept_on_open(tmp_path: Path) -> None:
    import os
    import time

    uri = f"sqlite:///{tmp_path}/s.db"
    staging = locate_store(uri).artifact_root / ".staging"
    (staging / "old-kill-9-leftover").mkdir(parents=True)
    (staging / "live-writer").mkdir()
    long_ago = time.time() - 3 * 24 * 3600
    os.utime(staging / "old-kill-9-leftover", (long_ago, long_ago))
    Store(locate_store(uri)).read("SELECT 1")
    assert sorted(p.name for p in staging.iterdir()) == ["live-writer"]
