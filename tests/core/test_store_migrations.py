"""Alembic migrations: stores written by older code open, `modelpack db upgrade`, newer refused."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import modelpack
from modelpack.cli import cli
from modelpack.errors import InvalidURI, StoreError
from modelpack.tracking import Client
from modelpack.tracking.stores.sql.location import locate_store
from modelpack.tracking.stores.sql.schema import HEAD, known_revisions

LEGACY = Path(__file__).parents[1] / "fixtures" / "legacy_store" / "schema2"
LEGACY_RUN = "b06918f387064d8780b722ec99b6d134"


@pytest.fixture
def legacy_store(tmp_path: Path, tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the store the sqlite3-era modelpack wrote, made the current store."""
    store = tmp_path / "legacy"
    shutil.copytree(LEGACY, store)
    monkeypatch.setenv("MODELPACK_TRACKING_URI", str(store))
    return store


def _revision(db: Path) -> list[tuple[str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        conn.close()


def test_head_is_the_newest_shipped_revision() -> None:
    assert HEAD in known_revisions()
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(
        str(Path(modelpack.tracking.stores.sql.__file__).parent / "migrations")
    )
    assert script.get_heads() == [HEAD]


def test_a_store_written_before_alembic_opens_with_every_record(legacy_store: Path) -> None:
    client = Client()
    run = client.get_run(LEGACY_RUN)
    assert run.info.run_name == "legacy-run"
    assert run.data.params == {"alpha": "0.5"}
    assert run.data.tags["team"] == "core"
    assert [(m.step, m.value) for m in client.get_metric_history(LEGACY_RUN, "loss")] == [
        (1, 0.25),
        (2, 0.125),
    ]
    version = client.get_model_version("legacy-model", 1)
    assert version.current_stage == "Production"
    assert version.aliases == ("champion",)
    model = modelpack.load_model("models:/legacy-model@champion")
    assert model.predict(np.array([[0.0, 1.0]])).tolist() == [0]
    assert _revision(legacy_store / "modelpack.db") == [(HEAD,)]
    # and it keeps working: the next version number follows the old counter
    assert modelpack.register_model(f"runs:/{LEGACY_RUN}/model", "legacy-model").version == 2


def test_db_upgrade_migrates_explicitly_then_is_a_no_op(legacy_store: Path) -> None:
    db = legacy_store / "modelpack.db"
    first = CliRunner().invoke(cli, ["db", "upgrade", str(legacy_store)])
    assert first.exit_code == 0, first.output
    assert f"upgraded schema from unversioned to revision {HEAD}" in first.output
    assert _revision(db) == [(HEAD,)]
    again = CliRunner().invoke(cli, ["db", "upgrade", f"sqlite:///{db}"])
    assert again.exit_code == 0
    assert f"already at schema revision {HEAD}" in again.output


def test_db_upgrade_refuses_a_newer_store_and_leaves_it_alone(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    Client(f"sqlite:///{db}").create_experiment("kept")
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = 'ffff9999'")
    conn.commit()
    conn.close()
    result = CliRunner().invoke(cli, ["db", "upgrade", f"sqlite:///{db}"])
    assert result.exit_code == 1
    assert "schema revision ffff9999, newer than this modelpack" in result.output
    assert "upgrade modelpack" in result.output
    assert "Traceback" not in result.output
    assert _revision(db) == [("ffff9999",)]


def test_a_password_never_shows_in_errors_or_repr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    uri = "postgresql://alice:s3cr3t-pw@127.0.0.1:1/registry"  # nothing listens on port 1
    client = Client(uri)
    assert "s3cr3t" not in repr(client.store)
    assert "s3cr3t" not in repr(client.store.location)
    with pytest.raises(StoreError) as caught:
        client.search_experiments()
    assert "127.0.0.1" in caught.value.message
    assert "s3cr3t" not in str(caught.value)
    assert "cannot be reached" in caught.value.message


def test_a_database_server_store_needs_an_artifact_location(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MODELPACK_ARTIFACT_ROOT", raising=False)
    with pytest.raises(InvalidURI, match="MODELPACK_ARTIFACT_ROOT"):
        locate_store("postgresql://alice:pw@127.0.0.1:5432/registry")


def test_an_unsupported_artifact_scheme_is_refused_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", "gs://bucket/x")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidURI, match="unsupported artifact root scheme 'gs'"):
        modelpack.set_tracking_uri(tmp_path / "store")
    assert not (tmp_path / "gs:").exists()
