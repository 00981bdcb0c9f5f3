"""Track an iris random forest: params, a metric per epoch, a confusion matrix, a registered model.

The forest grows by 10 trees per epoch (``warm_start``), and test accuracy is logged
at each step. The confusion matrix is logged as a figure when matplotlib is
installed, and always as JSON. The model is logged, registered as ``iris-rf``, and
loaded back by ``models:/`` URI.

    python examples/iris_tracking.py [STORE_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import train_test_split

import modelpack


def log_confusion_matrix(matrix: list[list[int]], labels: list[str]) -> None:
    modelpack.log_dict({"labels": labels, "matrix": matrix}, "confusion_matrix.json")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: confusion matrix logged as JSON only")
        return
    figure, axes = plt.subplots(figsize=(4, 4))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=45)
    axes.set_yticks(range(len(labels)), labels)
    for row, values in enumerate(matrix):
        for column, count in enumerate(values):
            axes.text(column, row, str(count), ha="center", va="center")
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    modelpack.log_figure(figure, "confusion_matrix.png")
    plt.close(figure)


def main(store: Path) -> None:
    modelpack.set_tracking_uri(store)
    modelpack.set_experiment("iris")
    iris = load_iris(as_frame=True)
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=0.3, random_state=42, stratify=iris.target
    )
    params = {"max_depth": 4, "trees_per_epoch": 10, "epochs": 5, "random_state": 42}

    with modelpack.start_run(run_name="random-forest") as run:
        modelpack.log_params(params)
        forest = RandomForestClassifier(
            n_estimators=0, max_depth=params["max_depth"], warm_start=True,
            random_state=params["random_state"],
        )  # fmt: skip
        for epoch in range(1, params["epochs"] + 1):
            forest.n_estimators += params["trees_per_epoch"]
            forest.fit(x_train, y_train)
            accuracy = accuracy_score(y_test, forest.predict(x_test))
            modelpack.log_metrics(
                {"test_accuracy": accuracy, "trees": forest.n_estimators}, step=epoch
            )

        predictions = forest.predict(x_test)
        matrix = confusion_matrix(y_test, predictions).tolist()
        log_confusion_matrix(matrix, list(iris.target_names))
        signature = modelpack.infer_signature(x_test, predictions)
        info = modelpack.sklearn.log_model(
            forest, "model", registered_model_name="iris-rf", signature=signature
        )

    print(f"run {run.info.run_id}: accuracy {accuracy:.3f}")
    print(f"artifacts: {modelpack.Client().list_artifacts(run.info.run_id)[:6]} ...")
    print(f"registered iris-rf version {info.registered_model_version}")
    model = modelpack.load_model(f"models:/iris-rf/{info.registered_model_version}")
    print("predictions by models:/ URI:", np.asarray(model.predict(x_test.head(5))).tolist())


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "store")
