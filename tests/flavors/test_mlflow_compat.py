"""Directories saved by real MLflow 2.x and 3.x load in modelpack and predict the same values.

The fixtures under tests/fixtures/ were written by MLflow itself, together with the
predictions MLflow's own loader returned (see tests/fixtures/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import modelpack
from modelpack.errors import FlavorNotFound, UntrustedPayloadError
from modelpack.mlmodel import read_mlmodel

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SCORED = [
    (major, name)
    for major in ("mlflow2", "mlflow3")
    for name in json.loads((FIXTURES / major / "manifest.json").read_text())["fixtures"]
    if name != "pyfunc_custom"
]

# A pickle written by one scikit-learn release warns when read by another; that is the
# user's information to see, not a failure of the format.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _expected(major: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / major / f"{name}.expected.json").read_text())


def _input(spec: dict[str, Any]) -> Any:
    if spec["type"] == "dataframe":
        frame = pd.DataFrame(spec["data"], columns=spec["columns"])
        return frame.astype(spec["dtypes"])
    return np.asarray(spec["data"], dtype=np.float64).astype(spec["dtype"]).reshape(spec["shape"])


@pytest.mark.parametrize(("major", "name"), SCORED, ids=[f"{m}-{n}" for m, n in SCORED])
def test_loads_and_predicts_like_mlflow(major: str, name: str) -> None:
    expected = _expected(major, name)
    model = modelpack.load_model(FIXTURES / major / name, trust=True)
    got = model.predict(_input(expected["input"]))
    if expected["predictions_type"] == "dict_of_ndarray":
        assert set(got) == set(expected["predictions"])
        for key, values in expected["predictions"].items():
            np.testing.assert_allclose(
                got[key], np.asarray(values, dtype=got[key].dtype), rtol=1e-6
            )
    else:
        np.testing.assert_allclose(np.asarray(got, dtype=float), expected["predictions"], rtol=1e-9)


@pytest.mark.parametrize("major", ["mlflow2", "mlflow3"])
def test_mlflow_signature_is_enforced(major: str) -> None:
    model = modelpack.load_model(FIXTURES / major / "sklearn_rf_regressor", trust=True)
    frame = _input(_expected(major, "sklearn_rf_regressor")["input"])
    with pytest.raises(modelpack.SchemaError, match="rooms"):
        model.predict(frame.astype({"rooms": "float64"}))


@pytest.mark.parametrize("major", ["mlflow2", "mlflow3"])
def test_mlflow_pickles_still_need_trust(major: str) -> None:
    with pytest.raises(UntrustedPayloadError):
        modelpack.load_model(FIXTURES / major / "sklearn_pickle")


def test_mlflow_skops_model_loads_without_trust() -> None:
    model = modelpack.load_model(FIXTURES / "mlflow3" / "sklearn_skops")
    assert model.flavor.name == "sklearn"
    assert isinstance(modelpack.sklearn.load_model(FIXTURES / "mlflow3" / "sklearn_skops"), object)


@pytest.mark.parametrize("major", ["mlflow2", "mlflow3"])
def test_custom_mlflow_python_model_needs_mlflow(major: str) -> None:
    with pytest.raises(FlavorNotFound, match="needs MLflow"):
        modelpack.load_model(FIXTURES / major / "pyfunc_custom", trust=True)


def test_our_sklearn_block_has_mlflows_keys(iris_lr, tmp_path: Path) -> None:
    theirs = read_mlmodel(FIXTURES / "mlflow3" / "sklearn_pickle")["flavors"]
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m", serialization_format="cloudpickle")
    ours = read_mlmodel(tmp_path / "m")["flavors"]
    assert set(theirs["sklearn"]) - {"skops_trusted_types"} <= set(ours["sklearn"])
    for key in ("loader_module", "model_path", "predict_fn", "python_version", "env"):
        assert key in ours["python_function"]
    assert ours["python_function"]["model_path"] == ours["sklearn"]["pickled_model"]
