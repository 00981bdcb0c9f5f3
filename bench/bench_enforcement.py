"""Signature-enforcement overhead: ``PyFuncModel.predict`` minus the raw ``model.predict``.

Both sides score the same iris LogisticRegression (the MLflow-saved fixture
``tests/fixtures/mlflow3/sklearn_pickle``, whose signature has four double columns) on
the same 1-row and 10,000-row DataFrames, in their own process:

- MLflow: ``mlflow.pyfunc.load_model(...).predict(frame)`` vs the unwrapped estimator's
  ``predict(frame)``, in the MLflow venv;
- modelpack: ``modelpack.load_model(...).predict(frame)`` vs the same estimator's
  ``predict(frame)``, in this interpreter.

Overhead = best-of-5 mean time per call of the wrapped predict minus the raw predict.
Target: modelpack's 1-row overhead at most 1/5 of MLflow's.

    python bench/bench_enforcement.py

Exit status: 0 when the target is met, 1 when missed, 2 on error.
"""

from __future__ import annotations

import json
import sys

from _baseline import FIXTURES, BenchError, exit_on_bench_error, mlflow_python, run_snippet

MODEL = FIXTURES / "mlflow3" / "sklearn_pickle"

_COMMON = """
import json, timeit, warnings
warnings.simplefilter("ignore")
import pandas as pd
from sklearn.datasets import load_iris
frame = load_iris(as_frame=True).data
cases = {"1 row": frame.head(1), "10,000 rows": frame.sample(10_000, replace=True, random_state=0)}
def best(fn, number):
    return min(timeit.repeat(fn, number=number, repeat=5)) / number
out = {}
"""

_MLFLOW = (
    _COMMON
    + f"""
import mlflow.pyfunc
model = mlflow.pyfunc.load_model({str(MODEL)!r})
raw = model._model_impl.sklearn_model
for name, data in cases.items():
    n = 500 if name == "1 row" else 20
    out[name] = [best(lambda: model.predict(data), n), best(lambda: raw.predict(data), n)]
print(json.dumps(out))
"""
)

_MODELPACK = (
    _COMMON
    + f"""
import modelpack
model = modelpack.load_model({str(MODEL)!r}, trust=True)
raw = model.get_raw_model()
for name, data in cases.items():
    n = 500 if name == "1 row" else 20
    out[name] = [best(lambda: model.predict(data), n), best(lambda: raw.predict(data), n)]
print(json.dumps(out))
"""
)


def main() -> int:
    try:
        theirs = json.loads(run_snippet(mlflow_python(), _MLFLOW).strip().splitlines()[-1])
        ours = json.loads(run_snippet(sys.executable, _MODELPACK).strip().splitlines()[-1])
    except BenchError as err:
        return exit_on_bench_error(err)
    print(f"{'':12}  {'MLflow overhead':>16}  {'modelpack overhead':>19}  {'ratio':>7}")
    ratios = {}
    for name in theirs:
        mlflow_over = theirs[name][0] - theirs[name][1]
        ours_over = ours[name][0] - ours[name][1]
        ratios[name] = ours_over / mlflow_over if mlflow_over > 0 else float("nan")
        print(
            f"{name:12}  {mlflow_over * 1e6:13.1f} us  {ours_over * 1e6:16.1f} us  "
            f"{ratios[name]:6.3f}x"
        )
    met = ratios["1 row"] <= 0.2
    print(
        f"target 1-row overhead <= 1/5 of MLflow's: ratio {ratios['1 row']:.3f} -> "
        f"{'MET' if met else 'MISSED'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
