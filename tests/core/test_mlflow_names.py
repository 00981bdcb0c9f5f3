"""MLflow's names for what modelpack already has: ``modelpack.models``, ``MlflowClient``,
``log_model(artifact_path=...)``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

import modelpack
from modelpack.errors import InvalidInput
from modelpack.models import Model, ModelSignature, infer_signature


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "z": [0.5, 0.1, 0.2, 0.3]})


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MODELPACK_TRACKING_URI", str(tmp_path / "store"))
    yield tmp_path
    modelpack.end_run()


def test_model_reads_mlmodel_by_path_file_and_uri(
    tmp_path: Path, frame: pd.DataFrame, store: Path
) -> None:
    estimator = LinearRegression().fit(frame, frame.x * 2)
    signature = infer_signature(frame, estimator.predict(frame))
    assert isinstance(signature, ModelSignature)
    modelpack.sklearn.save_model(estimator, tmp_path / "m", input_example=frame.head(2))
    with modelpack.start_run():
        info = modelpack.sklearn.log_model(estimator, name="model", signature=signature)

    by_path = Model.load(tmp_path / "m")
    by_file = Model.load(str(tmp_path / "m" / "MLmodel"))
    by_uri = Model.load(info.model_uri)

    assert sorted(by_path.flavors) == ["python_function", "sklearn"]
    assert by_path.get_input_schema().input_names() == ["x", "z"]
    assert by_path.get_output_schema() is not None and by_path.get_params_schema() is None
    assert list(by_path.load_input_example().columns) == ["x", "z"]
    assert by_path.saved_input_example_info is not None and by_path.utc_time_created
    assert by_file.to_dict() == by_path.to_dict() and "flavors:" in by_path.to_yaml()
    assert by_uri.run_id == info.run_id and by_uri.artifact_path == "model"
    assert by_uri.signature == signature


def test_mlflow_client_is_client() -> None:
    assert modelpack.MlflowClient is modelpack.Client
    assert modelpack.models.Model is Model  # reachable after a bare ``import modelpack``


def test_artifact_path_is_a_deprecated_name(frame: pd.DataFrame, store: Path) -> None:
    estimator = LinearRegression().fit(frame, frame.x)
    with pytest.warns(DeprecationWarning, match=r"pass name=\.\.\. instead") as caught:
        info = modelpack.sklearn.log_model(estimator, artifact_path="old-style")
    assert info.model_uri.endswith("/old-style")
    assert caught[0].filename == __file__  # the warning points at the caller's line

    with pytest.raises(InvalidInput, match="both name and artifact_path"):
        modelpack.sklearn.log_model(estimator, "a", artifact_path="b")
    with pytest.raises(InvalidInput, match="needs the model's name"):
        modelpack.sklearn.log_model(estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert modelpack.sklearn.log_model(estimator, "new").model_uri.endswith("/new")
