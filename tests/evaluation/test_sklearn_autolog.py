"""``modelpack.sklearn.autolog`` on a Pipeline and a GridSearchCV, on and off."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import modelpack
from modelpack.tracking import Client

X, Y = load_iris(return_X_y=True, as_frame=True)


@pytest.fixture
def autolog(tracking_uri: str) -> Iterator[None]:
    modelpack.sklearn.autolog()
    yield
    modelpack.sklearn.autolog(disable=True)


def _pipeline() -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))])


def test_pipeline_fit_outside_a_run_logs_a_finished_run(autolog: None) -> None:
    pipe = _pipeline()
    assert pipe.fit(X, Y) is pipe  # fit returns what it returned before
    assert modelpack.active_run() is None  # the run it started is ended
    (run,) = Client().search_runs()
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["clf__C"] == "1.0" and params["scale__with_mean"] == "True"
    assert params["clf__max_iter"] == "500"
    metrics = run.data.metrics
    assert metrics["training_accuracy_score"] == pytest.approx(
        skm.accuracy_score(Y, pipe.predict(X))
    )
    assert metrics["training_score"] == pytest.approx(pipe.score(X, Y))
    assert metrics["training_log_loss"] == pytest.approx(skm.log_loss(Y, pipe.predict_proba(X)))
    tags = run.data.tags
    assert tags["modelpack.training_data.shape"] == "150x4"
    assert len(tags["modelpack.training_data.digest"]) == 16
    assert tags["modelpack.autolog.estimator_class"] == "sklearn.pipeline.Pipeline"
    loaded = modelpack.load_model(f"runs:/{run.info.run_id}/model")
    assert loaded.signature is not None
    assert loaded.signature.inputs.input_names() == list(X.columns)
    assert np.array_equal(loaded.predict(X), pipe.predict(X))


def test_fit_inside_an_active_run_logs_into_it(autolog: None) -> None:
    from sklearn.linear_model import Ridge

    with modelpack.start_run() as run:
        Ridge().fit(X, Y)
        assert modelpack.active_run() is run  # still open
    (found,) = Client().search_runs()
    assert found.info.run_id == run.info.run_id
    assert "training_r2_score" in found.data.metrics and found.data.params["alpha"] == "1.0"


def test_grid_search_logs_best_params_and_capped_child_runs(tracking_uri: str) -> None:
    modelpack.sklearn.autolog(log_models=False, max_tuning_runs=2)
    try:
        search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.01, 0.1, 1.0]}, cv=3)
        search.fit(X, Y)
    finally:
        modelpack.sklearn.autolog(disable=True)
    runs = Client().search_runs()
    (parent,) = [r for r in runs if r.info.parent_run_id is None]
    children = [r for r in runs if r.info.parent_run_id == parent.info.run_id]
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert parent.data.tags["modelpack.autolog.tuning_candidates"] == "3"
    assert len(children) == 2  # capped
    best = max(children, key=lambda r: r.data.metrics["mean_test_score"])
    assert best.data.params["C"] == str(search.best_params_["C"])
    assert best.data.metrics["rank_test_score"] == 1
    assert Client().list_artifacts(parent.info.run_id) == []  # log_models=False


def test_disable_restores_the_original_methods(tracking_uri: str) -> None:
    original = LogisticRegression.__dict__.get("fit")
    modelpack.sklearn.autolog()
    assert LogisticRegression.__dict__.get("fit") is not original
    modelpack.sklearn.autolog(disable=True)
    assert LogisticRegression.__dict__.get("fit") is original
    LogisticRegression(max_iter=500).fit(X, Y)
    assert Client().search_runs() == []


def test_fit_errors_are_raised_unchanged(autolog: None) -> None:
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LogisticRegression().fit(X, Y[:10])
    (run,) = Client().search_runs()
    assert run.info.status == "FAILED"


def test_a_logging_failure_never_changes_fit(
    autolog: None, caplog: pytest.LogCaptureFixture
) -> None:
    with modelpack.start_run():
        LogisticRegression(C=1.0, max_iter=500).fit(X, Y)
        model = LogisticRegression(C=2.0, max_iter=500)  # params are immutable in a run
        with caplog.at_level(logging.WARNING, logger="modelpack.autolog"):
            assert model.fit(X, Y) is model
    assert "could not log the fit of LogisticRegression" in caplog.text
    assert hasattr(model, "coef_")
