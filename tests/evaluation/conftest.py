"""Shared fixtures for the evaluation tests: a fresh store per test, models trained once."""

from __future__ import annotations

import pandas as pd
import pytest
from evaluation_cases import Case


@pytest.fixture(scope="session")
def iris() -> Case:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier

    x, y = load_iris(return_X_y=True, as_frame=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.4, random_state=0)
    good = LogisticRegression(max_iter=1000).fit(x_train, y_train)
    weak = DecisionTreeClassifier(max_depth=1, random_state=0).fit(x_train, y_train)
    return Case(x_test.assign(y=y_test).reset_index(drop=True), good, weak)


@pytest.fixture(scope="session")
def binary() -> Case:
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.tree import DecisionTreeClassifier

    x, y = make_classification(n_samples=600, n_features=6, random_state=1)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(6)])
    good = LogisticRegression(max_iter=1000).fit(frame[:400], y[:400])
    weak = DecisionTreeClassifier(max_depth=2, random_state=0).fit(frame[:400], y[:400])
    return Case(frame[400:].assign(y=y[400:]).reset_index(drop=True), good, weak)


@pytest.fixture(scope="session")
def diabetes() -> Case:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.tree import DecisionTreeRegressor

    x, y = load_diabetes(return_X_y=True, as_frame=True)
    good = Ridge(alpha=0.1).fit(x[:300], y[:300])
    weak = DecisionTreeRegressor(max_depth=2, random_state=0).fit(x[:300], y[:300])
    return Case(x[300:].assign(y=y[300:]).reset_index(drop=True), good, weak)
