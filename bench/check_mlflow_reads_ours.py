"""Compatibility check: MLflow's own loaders read directories modelpack saved.

Saves the iris LogisticRegression with modelpack in every serialization format, then
loads each with ``mlflow.pyfunc.load_model`` and ``mlflow.sklearn.load_model`` in the
MLflow venv and compares the predictions. MLflow 3.17 loads no serialized sklearn model
(skops included) unless ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true``, which is set for
the MLflow process. Needs the baseline venv (see bench/README.md).

    python bench/check_mlflow_reads_ours.py

Exit status: 0 when MLflow reads every format and predicts the same labels, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from _baseline import BenchError, exit_on_bench_error, mlflow_python, run_snippet
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import modelpack

FORMATS = ("skops", "cloudpickle", "pickle")


def main() -> int:
    features, target = load_iris(return_X_y=True, as_frame=True)
    clf = LogisticRegression(max_iter=500, random_state=0).fit(features, target)
    expected = clf.predict(features).tolist()
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in FORMATS:
            modelpack.sklearn.save_model(clf, Path(tmp) / fmt, serialization_format=fmt)
        code = (
            "import json, warnings; warnings.simplefilter('ignore'); import mlflow.sklearn; "
            "import mlflow.pyfunc; "
            "from sklearn.datasets import load_iris; X = load_iris(as_frame=True).data; "
            f"print(json.dumps({{f'{{f}} {{k}}': m.load_model({tmp!r} + '/' + f).predict(X)"
            ".tolist() for k, m in (('pyfunc', mlflow.pyfunc), ('sklearn', mlflow.sklearn)) "
            f"for f in {list(FORMATS)!r}}}))"
        )
        env = {"MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
        try:
            out = run_snippet(mlflow_python(), code, env=env)
            theirs = json.loads(out.strip().splitlines()[-1])
        except BenchError as err:
            return exit_on_bench_error(err)
    ok = True
    for loader in ("pyfunc", "sklearn"):
        for fmt in FORMATS:
            same = theirs[f"{fmt} {loader}"] == expected
            ok &= same
            print(
                f"mlflow.{loader}.load_model on modelpack's {fmt:11} directory: "
                f"{'same predictions' if same else 'DIFFERENT predictions'}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
