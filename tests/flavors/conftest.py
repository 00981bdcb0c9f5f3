"""Small trained models, made once per session and shared by the flavor tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LogisticRegression


@pytest.fixture(scope="session")
def iris() -> tuple[pd.DataFrame, pd.Series]:
    features, target = load_iris(return_X_y=True, as_frame=True)
    return features, target


@pytest.fixture(scope="session")
def iris_lr(iris: tuple[pd.DataFrame, pd.Series]) -> LogisticRegression:
    features, target = iris
    return LogisticRegression(max_iter=500, random_state=0).fit(features, target)


@pytest.fixture(scope="session")
def iris_onnx(iris_lr: LogisticRegression) -> Any:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    return convert_sklearn(
        iris_lr,
        initial_types=[("X", FloatTensorType([None, 4]))],
        options={id(iris_lr): {"zipmap": False}},
        target_opset=17,
    )


@pytest.fixture(scope="session")
def numeric_rf() -> tuple[RandomForestRegressor, np.ndarray]:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 5))
    target = features @ rng.normal(size=5)
    return RandomForestRegressor(n_estimators=5, max_depth=3, random_state=0).fit(
        features, target
    ), features
