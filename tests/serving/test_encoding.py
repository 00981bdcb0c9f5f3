"""``/invocations`` bodies are the bytes MLflow's scoring server writes: its writer is
``json.dump({"predictions": ...})`` with numpy values as ``tolist()``, reproduced here
with the stdlib to compare against every shortcut modelpack takes."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from modelpack.serving.encoding import encode_predictions


def _mlflow_bytes(predictions: Any) -> bytes:
    if isinstance(predictions, pd.DataFrame):
        predictions = predictions.to_dict(orient="records")
    elif isinstance(predictions, dict):
        predictions = {k: np.asarray(v).tolist() for k, v in predictions.items()}
    elif isinstance(predictions, np.ndarray):
        predictions = predictions.tolist()
    return json.dumps({"predictions": predictions}).encode()


def _floats(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    magnitudes = 10.0 ** rng.uniform(-320, 308, 4000)
    signs = rng.choice([-1.0, 1.0], 4000)
    edges = [0.0, -0.0, 1.0, 1e-4, 1e-5, 9.99e-5, 1e15, 1e16, 1e22, 5e-324, 123456.0, 0.1]
    return np.concatenate([magnitudes * signs, rng.random(2000), edges])


@pytest.mark.parametrize("seed", range(3))
def test_float_answers_are_mlflows_bytes(seed: int) -> None:
    values = _floats(seed)
    for arr in (
        values,
        values[np.abs(values) < 3e38].astype(np.float32),  # written as the doubles they are
        values[: 4002 // 3 * 3].reshape(-1, 3),
        values.reshape(-1, 2)[:, 0],  # not contiguous
        values[:1],
        np.array([], dtype=np.float64),
    ):
        assert encode_predictions(arr) == _mlflow_bytes(arr)


def test_other_answers_are_mlflows_bytes() -> None:
    answers: list[Any] = [
        np.array([0, 2, 1]),
        np.array([[1, -2], [3, 4]], dtype=np.int32),
        np.array([True, False]),
        np.array([1.5, np.nan, np.inf]),
        np.array(["setosa", "virginica", "façade"], dtype=object),
        pd.DataFrame({"total": [10.199999809265137, 1e-05], "label": [0, 1]}),
        pd.DataFrame({"name": ["é", "b"], "score": np.array([0.5, 2e-7], dtype=np.float32)}),
        {"label": np.array([0, 2]), "probabilities": np.array([[0.25, 1e-8]], dtype=np.float32)},
    ]
    for answer in answers:
        assert encode_predictions(answer) == _mlflow_bytes(answer), answer
