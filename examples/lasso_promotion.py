"""Train a Lasso regression, compare it with a baseline, promote it when it wins.

The baseline is the model in Production when there is one, else a mean predictor.
A candidate that beats it on test RMSE moves to Production (the previous one is
archived); serving code keeps loading ``models:/diabetes-lasso/Production``.
Run it twice with the same store to see a second version challenge the first.

    python examples/lasso_promotion.py [STORE_DIR] [ALPHA]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Lasso
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

import modelpack
from modelpack.errors import ModelNotFound

NAME = "diabetes-lasso"


def rmse(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(mean_squared_error(truth, predicted)))


def main(store: Path, alpha: float) -> None:
    modelpack.set_tracking_uri(store)
    modelpack.set_experiment("diabetes")
    data = load_diabetes(as_frame=True)
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.25, random_state=0
    )
    client = modelpack.Client()

    try:
        production = modelpack.load_model(f"models:/{NAME}/Production")
        baseline_name = "current Production version"
        baseline_rmse = rmse(y_test, np.asarray(production.predict(x_test)).ravel())
    except ModelNotFound:
        baseline_name = "mean predictor"
        dummy = DummyRegressor().fit(x_train, y_train)
        baseline_rmse = rmse(y_test, dummy.predict(x_test))

    with modelpack.start_run(run_name=f"lasso-alpha-{alpha}"):
        modelpack.log_param("alpha", alpha)
        lasso = Lasso(alpha=alpha, random_state=0).fit(x_train, y_train)
        candidate_rmse = rmse(y_test, lasso.predict(x_test))
        modelpack.log_metrics({"rmse": candidate_rmse, "baseline_rmse": baseline_rmse})
        modelpack.set_tag("baseline", baseline_name)
        signature = modelpack.infer_signature(x_test, lasso.predict(x_test))
        info = modelpack.sklearn.log_model(
            lasso, "model", registered_model_name=NAME, signature=signature
        )

    version = info.registered_model_version
    print(f"version {version}: RMSE {candidate_rmse:.2f} vs {baseline_name} {baseline_rmse:.2f}")
    if candidate_rmse < baseline_rmse:
        client.transition_model_version_stage(
            NAME, version, "Production", archive_existing_versions=True
        )
        client.set_registered_model_alias(NAME, "champion", version)
        print(f"promoted version {version} to Production")
    else:
        client.transition_model_version_stage(NAME, version, "Archived")
        print(f"version {version} did not beat the baseline; archived")

    for model_version in client.search_model_versions(f"name = '{NAME}'"):
        print(f"  v{model_version.version}: {model_version.current_stage}")
    served = modelpack.load_model(f"models:/{NAME}/Production")
    print("Production predicts:", np.round(np.asarray(served.predict(x_test.head(3))).ravel(), 1))


if __name__ == "__main__":
    store_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "store"
    main(store_dir, float(sys.argv[2]) if len(sys.argv) > 2 else 0.1)
