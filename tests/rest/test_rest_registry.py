"""The model registry through a tracking server: ``Client``'s registry operations, log_model
with registration, and ``load_model`` of ``models:/`` and ``runs:/`` URIs with the verified
download cache."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modelpack
from modelpack.errors import AlreadyExists, InvalidInput, ModelNotFound
from modelpack.tracking import Client

pytestmark = pytest.mark.needs("registry", "artifacts")


@pytest.fixture(scope="module")
def iris() -> tuple[Any, Any, Any]:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    return x, y, LogisticRegression(max_iter=500).fit(x, y)


def _log(iris: tuple[Any, Any, Any], name: str) -> modelpack.tracking.ModelInfo:
    x, _, estimator = iris
    signature = modelpack.infer_signature(x, estimator.predict(x))
    with modelpack.start_run():
        return modelpack.sklearn.log_model(
            estimator, name="model", registered_model_name=name, signature=signature
        )


def test_registry_operations(tracking_server_url: str, iris: tuple[Any, Any, Any]) -> None:
    name = f"iris-{uuid.uuid4().hex[:8]}"
    client = Client()
    created = client.create_registered_model(name, tags={"team": "ml"}, description="first")
    assert (created.name, created.description, created.tags) == (name, "first", {"team": "ml"})
    with pytest.raises(AlreadyExists):
        client.create_registered_model(name)
    first = _log(iris, name)
    second = _log(iris, name)
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)

    version = client.transition_model_version_stage(name, 1, "production")
    assert version.current_stage == "Production"
    client.transition_model_version_stage(name, 2, "Production", archive_existing_versions=True)
    assert client.get_model_version(name, 1).current_stage == "Archived"
    assert [v.version for v in client.get_latest_versions(name, ["Production"])] == [2]

    client.set_registered_model_alias(name, "champion", 1)
    assert client.get_model_version_by_alias(name, "champion").version == 1
    assert client.get_registered_model(name).aliases == {"champion": 1}
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(ModelNotFound):
        client.get_model_version_by_alias(name, "champion")

    client.set_model_version_tag(name, 2, "validated", "yes")
    client.set_registered_model_tag(name, "domain", "flowers")
    assert client.get_model_version(name, 2).tags == {"validated": "yes"}  # digest tag hidden
    client.delete_model_version_tag(name, 2, "validated")
    client.delete_registered_model_tag(name, "team")
    assert client.get_registered_model(name).tags == {"domain": "flowers"}
    assert client.update_model_version(name, 2, "the better one").description == "the better one"
    assert client.update_registered_model(name, "irises").description == "irises"

    assert [(v.name, v.version) for v in client.search_model_versions(f"name = '{name}'")] == [
        (name, 1),
        (name, 2),
    ]
    assert [m.name for m in client.search_registered_models(f"name = '{name}'")] == [name]
    run_versions = client.search_model_versions(f"run_id = '{first.run_id}'")
    assert [(v.name, v.version) for v in run_versions] == [(name, 1)]

    client.delete_model_version(name, 1)
    with pytest.raises(ModelNotFound):
        client.get_model_version(name, 1)
    renamed = f"{name}-renamed"
    assert client.rename_registered_model(name, renamed).name == renamed
    client.delete_registered_model(renamed)
    with pytest.raises(ModelNotFound):
        client.get_registered_model(renamed)


def test_load_model_by_every_uri_form(tracking_server_url: str, iris: tuple[Any, Any, Any]) -> None:
    x, _, estimator = iris
    name = f"iris-{uuid.uuid4().hex[:8]}"
    info = _log(iris, name)
    client = Client()
    client.set_registered_model_alias(name, "champion", 1)
    client.transition_model_version_stage(name, 1, "Staging")
    expected = estimator.predict(x.head(5))
    for uri in (
        f"models:/{name}/1",
        f"models:/{name}@champion",
        f"models:/{name}/latest",
        f"models:/{name}/staging",
        info.model_uri,  # runs:/<id>/model
    ):
        model = modelpack.pyfunc.load_model(uri)
        assert np.array_equal(np.asarray(model.predict(x.head(5))), expected), uri
    with pytest.raises(ModelNotFound):
        modelpack.pyfunc.load_model(f"models:/{name}/production")
    with pytest.raises(ModelNotFound):
        modelpack.pyfunc.load_model(f"models:/{name}@nobody")


def test_register_model_of_a_run_and_refusal_of_a_local_directory(
    tracking_server_url: str, iris: tuple[Any, Any, Any], tmp_path: Path
) -> None:
    x, _, estimator = iris
    with modelpack.start_run():
        info = modelpack.sklearn.log_model(estimator, name="clf")
    name = f"iris-{uuid.uuid4().hex[:8]}"
    version = modelpack.register_model(info.model_uri, name, tags={"via": "register_model"})
    assert (version.version, version.source, version.run_id) == (1, info.model_uri, info.run_id)
    assert version.tags == {"via": "register_model"}
    local = tmp_path / "local-model"
    modelpack.sklearn.save_model(estimator, local)
    with pytest.raises(InvalidInput, match="log the model"):
        modelpack.register_model(str(local), name)


def _files_stamp(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_download_cache_is_reused_and_a_corrupted_copy_is_fetched_again(
    tracking_server_url: str, iris: tuple[Any, Any, Any]
) -> None:
    from modelpack.tracking.resolve import resolve_models_uri

    x, _, estimator = iris
    name = f"iris-{uuid.uuid4().hex[:8]}"
    _log(iris, name)
    cache = Path(os.environ["MODELPACK_CACHE_DIR"]) / "models"
    _, _, first = resolve_models_uri(f"models:/{name}/1")
    assert first.parent == cache and len(first.name) == 64  # keyed by the content digest
    stamp = _files_stamp(first)

    # second load: the same files, not rewritten (no second download)
    again = modelpack.pyfunc.load_model(f"models:/{name}/1")
    assert _files_stamp(first) == stamp
    assert np.array_equal(np.asarray(again.predict(x.head(3))), estimator.predict(x.head(3)))

    # a cached payload file damaged on disk is detected and replaced by a fresh download
    payload = next(p for p in first.iterdir() if p.name.startswith("model."))
    original = payload.read_bytes()
    payload.write_bytes(original[:-10] + b"0123456789")
    repaired = modelpack.pyfunc.load_model(f"models:/{name}/1")
    assert payload.read_bytes() == original
    assert _files_stamp(first) != stamp  # downloaded again
    assert np.array_equal(np.asarray(repaired.predict(x.head(3))), estimator.predict(x.head(3)))
