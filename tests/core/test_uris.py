"""Every model URI form, and the malformed ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import modelpack
from modelpack.errors import InvalidURI, ModelNotFound, UnsafePathError
from modelpack.tracking import Client, log_model_dir
from modelpack.uris import resolve_model_uri

MakeModelDir = Callable[..., Path]


@pytest.fixture
def registered(tracking_uri: str, make_model_dir: MakeModelDir) -> dict[int, Path]:
    """Model 'iris' with versions 1 (Staging), 2 (Production, alias champion), 3 (None)."""
    client = Client()
    dirs = {}
    for number in (1, 2, 3):
        version = modelpack.register_model(str(make_model_dir(payload=bytes([number]))), "iris")
        dirs[number] = Path(version.storage_location)
    client.transition_model_version_stage("iris", 1, "Staging")
    client.transition_model_version_stage("iris", 2, "Production")
    client.set_registered_model_alias("iris", "champion", 2)
    return dirs


def test_path_and_file_uris(tmp_path: Path, make_model_dir: MakeModelDir) -> None:
    model = make_model_dir()
    assert resolve_model_uri(model) == model.resolve()
    assert resolve_model_uri(str(model)) == model.resolve()
    assert resolve_model_uri(model.as_uri()) == model.resolve()
    with pytest.raises(ModelNotFound):
        resolve_model_uri(tmp_path / "missing")


@pytest.mark.parametrize(
    ("uri", "number"),
    [
        ("models:/iris/1", 1),
        ("models:/iris/3", 3),
        ("models:/iris/Staging", 1),
        ("models:/iris/production", 2),
        ("models:/iris/PRODUCTION", 2),
        ("models:/iris/None", 3),
        ("models:/iris/latest", 3),
        ("models:/iris/Latest", 3),
        ("models:/iris@champion", 2),
    ],
)
def test_models_uris(registered: dict[int, Path], uri: str, number: int) -> None:
    assert resolve_model_uri(uri) == registered[number]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("models:/iris/9", "no version 9"),
        ("models:/iris/Archived", "no version in stage 'Archived'"),
        ("models:/iris@ghost", "no alias 'ghost'"),
        ("models:/unknown/1", "'unknown' does not exist"),
        ("models:/unknown/latest", "'unknown' does not exist"),
        ("models:/unknown@champion", "'unknown' does not exist"),
    ],
)
def test_unknown_models_name_what_is_missing(
    registered: dict[int, Path], uri: str, message: str
) -> None:
    with pytest.raises(ModelNotFound, match=message):
        resolve_model_uri(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "models:",
        "models:/",
        "models:iris/1",
        "models://iris/1",
        "models:/iris",
        "models:/iris/",
        "models:/iris/1/extra",
        "models:/iris/Prod",
        "models:/iris@",
        "models:/@alias",
        "models:/../1",
        "runs:",
        "runs:/",
        "runs:/not-a-run-id/model",
        "runs://0123456789abcdef0123456789abcdef/model",
        "s3://bucket/model",
        "",
        "a\x00b",
    ],
)
def test_malformed_uris(tracking_uri: str, uri: str) -> None:
    with pytest.raises(InvalidURI):
        resolve_model_uri(uri)


def test_runs_uris(tracking_uri: str, save_fake_model: Callable[[Path], None]) -> None:
    with modelpack.start_run() as run:
        info = log_model_dir(save_fake_model, "models/clf")
    model = resolve_model_uri(info.model_uri)
    assert (model / "MLmodel").is_file()
    assert resolve_model_uri(f"runs:/{run.info.run_id}/models") == model.parent
    assert resolve_model_uri(f"runs:/{run.info.run_id}/models/clf/") == model
    with pytest.raises(ModelNotFound, match="no artifact"):
        resolve_model_uri(f"runs:/{run.info.run_id}/other")
    with pytest.raises(ModelNotFound, match="no run"):
        resolve_model_uri("runs:/0123456789abcdef0123456789abcdef/model")


@pytest.mark.parametrize("path", ["../x", "models/../../x", "%2e%2e/x", "a\\b", "..%2Fx"])
def test_runs_uris_cannot_escape(tracking_uri: str, path: str) -> None:
    with modelpack.start_run() as run:
        pass
    with pytest.raises(UnsafePathError):
        resolve_model_uri(f"runs:/{run.info.run_id}/{path}")


def test_runs_uri_registers(tracking_uri: str, save_fake_model: Callable[[Path], None]) -> None:
    with modelpack.start_run() as run:
        info = log_model_dir(save_fake_model, "model")
    version = modelpack.register_model(info.model_uri, "from-run")
    assert (version.run_id, version.source) == (run.info.run_id, info.model_uri)
    again = modelpack.register_model("models:/from-run/1", "copy")
    assert again.storage_location == version.storage_location


@pytest.mark.parametrize(
    "uri",
    [
        "models:/iris/123456789012345678901234567890",  # 30 digits: past SQLite's INTEGER
        "models:/iris/9223372036854775808",  # 2**63: one past it
        "models:/iris/0",
    ],
)
def test_version_numbers_out_of_range_are_invalid_uris(
    registered: dict[int, Path], uri: str
) -> None:
    with pytest.raises(InvalidURI, match="version"):
        resolve_model_uri(uri)


def test_a_version_at_the_largest_number_is_merely_missing(registered: dict[int, Path]) -> None:
    with pytest.raises(ModelNotFound, match="no version"):
        resolve_model_uri("models:/iris/9223372036854775807")


@pytest.mark.parametrize(
    "path", ["a" * 6000, "a/" * 600, "b" * 256], ids=["6000-chars", "600-parts", "256-char-part"]
)
def test_runs_paths_past_file_system_limits_are_refused(tracking_uri: str, path: str) -> None:
    from modelpack.errors import InvalidName

    with modelpack.start_run() as run:
        pass
    with pytest.raises(InvalidName, match="at most 1024 characters") as caught:
        resolve_model_uri(f"runs:/{run.info.run_id}/{path}")
    assert path not in caught.value.message  # described, never echoed whole
