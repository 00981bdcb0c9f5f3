"""Test data and models shared by the evaluation tests (imported by conftest and tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Case:
    """A test set (features + target column ``y``) and two fitted models for it."""

    test: pd.DataFrame
    good: Any
    weak: Any

    @property
    def features(self) -> pd.DataFrame:
        return self.test.drop(columns=["y"])


def register(model: Any, name: str, example: pd.DataFrame) -> int:
    """Log ``model`` in a run of its own and register it as the next version of ``name``."""
    import modelpack

    with modelpack.start_run():
        info = modelpack.sklearn.log_model(
            model, "model", registered_model_name=name, input_example=example.head(3)
        )
    assert info.registered_model_version is not None
    return info.registered_model_version
