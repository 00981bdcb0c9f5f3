"""``models:/`` loads (and batch predict) verified against the registry's digest (issue 9 item 4)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression

import modelpack
from modelpack.cli import cli
from modelpack.errors import IntegrityError
from modelpack.mlmodel import HASHES_KEY
from modelpack.uris import resolve_model_uri

X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [1.0, 1.0]])


@pytest.fixture
def tracking_uri(any_tracking_uri: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return any_tracking_uri


@pytest.fixture
def registered(tracking_uri: str, tmp_path: Path) -> Path:
    """A real sklearn model registered as ``iris`` version 1; returns its stored directory."""
    import modelpack.sklearn

    model = LogisticRegression().fit(X, [0, 1, 0, 1])
    modelpack.sklearn.save_model(model, tmp_path / "src")
    version = modelpack.register_model(str(tmp_path / "src"), "iris")
    return Path(version.storage_location)


def _strip_own_hashes(model_dir: Path) -> None:
    mlmodel = yaml.safe_load((model_dir / "MLmodel").read_text())
    del mlmodel[HASHES_KEY]
    (model_dir / "MLmodel").write_text(yaml.safe_dump(mlmodel))


def test_an_untouched_version_loads_and_predicts(registered: Path) -> None:
    for _ in range(2):  # the second load reuses the verification
        assert modelpack.load_model("models:/iris/1").predict(X).tolist() == [0, 1, 0, 1]


def test_deleting_the_directorys_own_hashes_does_not_turn_verification_off(
    registered: Path,
) -> None:
    modelpack.load_model("models:/iris/1")  # verified once while intact
    payload = next(p for p in registered.iterdir() if p.name.startswith("model."))
    payload.write_bytes(payload.read_bytes() + b"\0")
    _strip_own_hashes(registered)
    with pytest.raises(IntegrityError, match="do not match the digest the registry recorded"):
        modelpack.load_model("models:/iris/1")
    with pytest.raises(IntegrityError, match="version 1"):
        resolve_model_uri("models:/iris/latest")


def test_an_edited_mlmodel_alone_is_refused(registered: Path) -> None:
    mlmodel = (registered / "MLmodel").read_text()
    (registered / "MLmodel").write_text(mlmodel.replace("model_uuid:", "model_uuid: x\nold_uuid:"))
    with pytest.raises(IntegrityError, match="changed after registration"):
        modelpack.load_model("models:/iris/1")


def test_registering_from_a_tampered_version_is_refused(registered: Path) -> None:
    _strip_own_hashes(registered)
    with pytest.raises(IntegrityError):
        modelpack.register_model("models:/iris/1", "copy")


def test_missing_files_are_an_integrity_error(registered: Path) -> None:
    shutil.rmtree(registered)
    with pytest.raises(IntegrityError, match="missing from the artifact store"):
        modelpack.load_model("models:/iris/1")


def test_batch_predict_refuses_a_tampered_version(registered: Path, tmp_path: Path) -> None:
    _strip_own_hashes(registered)
    (tmp_path / "in.jsonl").write_text('{"0": 0.0, "1": 1.0}\n')
    result = CliRunner().invoke(
        cli,
        [
            "predict",
            "-m",
            "models:/iris/1",
            "-i",
            str(tmp_path / "in.jsonl"),
            "-o",
            str(tmp_path / "out.jsonl"),
        ],
    )
    assert result.exit_code != 0
    assert "digest the registry recorded" in result.output
    assert not (tmp_path / "out.jsonl").exists()


def test_serving_refuses_a_tampered_version(registered: Path) -> None:
    from modelpack.serving.http.config import ServeConfig
    from modelpack.serving.http.model_state import load

    _strip_own_hashes(registered)
    with pytest.raises(IntegrityError, match="digest the registry recorded"):
        load(ServeConfig(model_uri="models:/iris/1"))
