"""The one local cache of registered versions (snapshots/cache.py), used by the SQL store
with S3 artifacts and by the REST store: what holds for one holds for the other."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import modelpack
from modelpack.errors import IntegrityError
from modelpack.tracking import Client
from modelpack.tracking.resolve import resolve_models_uri
from modelpack.tracking.snapshots.cache import cached_version
from modelpack.tracking.snapshots.digest import manifest_digest
from tests.core.conftest import MakeModelDir


def test_a_damaged_cached_copy_of_an_s3_version_is_fetched_again(
    s3_tracking_uri: str, make_model_dir: MakeModelDir, tmp_path: Path
) -> None:
    modelpack.register_model(str(make_model_dir(payload=b"pristine")), "s")
    path = resolve_models_uri("models:/s/1")[2]
    assert path.parent == tmp_path / "cache" / "models"
    (path / "model.bin").write_bytes(b"tampered")  # same size, other bytes

    assert resolve_models_uri("models:/s/1")[2] == path
    assert (path / "model.bin").read_bytes() == b"pristine"
    # what is left in the cache: the copy and nothing half-made beside it
    assert [p.name for p in (tmp_path / "cache" / "models").iterdir()] == [path.name]
    Client().store.dispose()


def _copier(source: Path, calls: list[Path]) -> Callable[[Path], None]:
    def fetch(target: Path) -> None:
        calls.append(target)
        shutil.copytree(source, target)

    return fetch


def test_a_version_without_a_recorded_digest_is_filed_under_its_content_and_reused(
    make_model_dir: MakeModelDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPACK_CACHE_DIR", str(tmp_path / "cache"))
    source = make_model_dir(payload=b"no digest recorded")
    calls: list[Path] = []
    fetch = _copier(source, calls)
    first = cached_version("m", 1, None, fetch, "a test source")
    assert first == tmp_path / "cache" / "models" / manifest_digest(source)
    # the same content, now with its digest: served from the cache, not fetched again
    again = cached_version("m", 1, first.name, fetch, "a test source")
    assert again == first and len(calls) == 1


def test_fetched_files_that_do_not_match_the_digest_leave_nothing_in_the_cache(
    make_model_dir: MakeModelDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPACK_CACHE_DIR", str(tmp_path / "cache"))
    honest = manifest_digest(make_model_dir(payload=b"honest"))
    fetch = _copier(make_model_dir(payload=b"swapped"), [])
    with pytest.raises(IntegrityError, match="do not match the digest"):
        cached_version("m", 2, honest, fetch, "a test source")
    assert list((tmp_path / "cache" / "models").iterdir()) == []


def test_a_stored_snapshot_missing_a_file_is_made_whole_by_registering_it_again(
    tracking_uri: str, make_model_dir: MakeModelDir
) -> None:
    source = make_model_dir(payload=b"weights", size=1_000)
    first = modelpack.register_model(str(source), "w")
    (Path(first.storage_location) / "model.bin").unlink()  # damaged on disk
    with pytest.raises(IntegrityError):
        resolve_models_uri("models:/w/1")

    second = modelpack.register_model(str(source), "w")  # the same content again
    assert second.storage_location == first.storage_location
    for uri in ("models:/w/1", "models:/w/2"):
        assert (resolve_models_uri(uri)[2] / "model.bin").read_bytes() == (
            source / "model.bin"
        ).read_bytes()


def test_downloads_left_by_killed_processes_are_swept_and_live_ones_kept(
    make_model_dir: MakeModelDir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPACK_CACHE_DIR", str(tmp_path / "cache"))
    models = tmp_path / "cache" / "models"
    old_day = time.time() - 2 * 24 * 3600
    left = [models / ".tmp-1-dead", models / ".download-dead"]
    for folder in left:
        (folder / "sub").mkdir(parents=True)
        (folder / "sub" / "model.pkl").write_bytes(b"x" * 1000)
        os.utime(folder, (old_day, old_day))
    live = models / ".download-live"
    live.mkdir()
    source = make_model_dir(payload=b"sweep")
    cached_version("m", 1, manifest_digest(source), _copier(source, []), "a test source")
    assert not any(folder.exists() for folder in left)
    assert live.is_dir()  # another process may be downloading into it right now
