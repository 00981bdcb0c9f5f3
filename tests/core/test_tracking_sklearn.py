"""End to end with a real flavor: log an sklearn model, register it, load it by URI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import modelpack
import modelpack.sklearn as sklearn_flavor
from modelpack.errors import IntegrityError
from modelpack.tracking import Client


def test_log_register_and_load_by_models_uri(tracking_uri: str) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, target = load_iris(return_X_y=True)
    features = features.astype(np.float64)
    classifier = LogisticRegression(max_iter=300).fit(features, target)
    signature = modelpack.infer_signature(features, classifier.predict(features))
    modelpack.set_experiment("iris")
    with modelpack.start_run() as run:
        info = sklearn_flavor.log_model(
            classifier, "model", registered_model_name="iris", signature=signature
        )
    assert (info.run_id, info.registered_model_version) == (run.info.run_id, 1)
    assert "sklearn" in info.flavors and info.signature is not None
    Client().set_registered_model_alias("iris", "champion", 1)
    expected = classifier.predict(features[:5])
    for uri in (info.model_uri, "models:/iris/1", "models:/iris/latest", "models:/iris@champion"):
        loaded = modelpack.load_model(uri)
        assert np.array_equal(np.asarray(loaded.predict(features[:5])), expected)


def test_a_tampered_model_is_not_registered(tracking_uri: str, tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    path = tmp_path / "model"
    sklearn_flavor.save_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), path)
    payload = next(p for p in path.iterdir() if p.name.startswith("model."))
    payload.write_bytes(payload.read_bytes() + b"tampered")
    with pytest.raises(IntegrityError):
        modelpack.register_model(str(path), "tampered")
    client = Client()
    assert client.search_model_versions() == []
    assert list(client.store.staging_dir.iterdir()) == []
