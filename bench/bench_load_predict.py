"""Cold start: import + load the iris sklearn model + first predict, in fresh processes.

Rows (median wall time of whole fresh processes, after one untimed warm-up):

- MLflow: ``mlflow.pyfunc.load_model`` on the MLflow-saved fixture
  ``tests/fixtures/mlflow3/sklearn_pickle`` (the baseline);
- modelpack: ``modelpack.load_model`` on a directory saved by
  ``modelpack.sklearn.save_model(..., serialization_format="skops")`` (made here, in a
  temporary directory, from the same iris model);
- modelpack: ``modelpack.load_model(..., trust=True)`` on the MLflow-saved fixture;
- MLflow and modelpack on the MLflow-saved skops fixture, like for like;
- the floor: ``pickle.load`` of the same fitted estimator modelpack saved, which imports
  only the estimator's own modules and deserialises it, then the same predict. No
  loader that rebuilds this model with scikit-learn can start faster.

Every snippet predicts on the fixture's rows as a pandas DataFrame and asserts the
labels MLflow recorded in ``sklearn_pickle.expected.json``. Targets: modelpack on its
own directory at most 1/3 of MLflow's time (issue 9 item 19; below the floor on this
machine, see bench/README.md) and at most 1.2x the floor. Runs of the rows take turns,
so a change in the machine's load hits every row alike.

    python bench/bench_load_predict.py [--runs 5]

Exit status: 0 when the floor target is met, 1 when missed or not measurable, 2 on error.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _baseline import (
    FIXTURES,
    BenchError,
    Timing,
    exit_on_bench_error,
    mlflow_python,
    modelpack_python,
    print_table,
    run_snippet,
    time_snippet,
    verdict,
)

TARGET_RATIO = 1 / 3
FLOOR_TARGET = 1.2
BASELINE = "mlflow  pyfunc.load_model(mlflow3 pickle)"
OWN = "modelpack load_model(modelpack skops)"
FLOOR = "floor   pickle.load(same estimator)"

SAVE_MODELPACK = """
import pickle
import modelpack
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
iris = load_iris(as_frame=True)
X = iris.data
model = LogisticRegression(max_iter=500, random_state=0).fit(X, iris.target)
modelpack.sklearn.save_model(
    model, {path!r}, serialization_format="skops",
    signature=modelpack.infer_signature(X, model.predict(X)), input_example=X.head(3),
)
with open({pickle_path!r}, "wb") as handle:
    pickle.dump(model, handle)
"""

PREDICT = """
import {module}
import pandas as pd
model = {loader}({path!r}{extra})
out = model.predict(pd.DataFrame({rows!r}, columns={columns!r}))
assert [int(v) for v in out] == {expected!r}, out
"""


@dataclass(frozen=True)
class Case:
    """One timed row: an interpreter, a loader and a model directory."""

    label: str
    python: str
    module: str
    loader: str
    path: Path
    extra: str = ""

    def code(self, expected: dict[str, object]) -> str:
        data = expected["input"]
        assert isinstance(data, dict)
        return PREDICT.format(
            module=self.module,
            loader=self.loader,
            path=str(self.path),
            extra=self.extra,
            rows=data["data"],
            columns=data["columns"],
            expected=expected["predictions"],
        )


def load_expected(fixture_dir: Path) -> dict[str, object]:
    path = fixture_dir / "sklearn_pickle.expected.json"
    if not path.is_file():
        raise BenchError(f"{path} is missing; see tests/fixtures/README.md to regenerate it")
    return dict(json.loads(path.read_text()))


def _floor_pickle(own_dir: Path) -> Path:
    return own_dir.with_name("iris_floor.pkl")


def save_modelpack_model(target: Path) -> str | None:
    """Save the iris model with modelpack.sklearn; None when done, else why it failed."""
    try:
        code = SAVE_MODELPACK.format(path=str(target), pickle_path=str(_floor_pickle(target)))
        run_snippet(modelpack_python(), code)
    except BenchError as err:
        return str(err).strip().splitlines()[-1]
    return None


def cases(fixture_dir: Path, own_dir: Path) -> list[Case]:
    mp, ml = modelpack_python(), mlflow_python()
    mp_load, ml_load = "modelpack.load_model", "mlflow.pyfunc.load_model"
    rows = [
        Case(BASELINE, ml, "mlflow.pyfunc", ml_load, fixture_dir / "sklearn_pickle"),
        Case(OWN, mp, "modelpack", mp_load, own_dir),
        Case(FLOOR, mp, "pickle", "(lambda p: pickle.load(open(p, 'rb')))", _floor_pickle(own_dir)),
        Case(
            "modelpack load_model(mlflow3 pickle, trust)",
            mp,
            "modelpack",
            mp_load,
            fixture_dir / "sklearn_pickle",
            ", trust=True",
        ),
    ]
    skops_dir = fixture_dir / "sklearn_skops"
    if skops_dir.is_dir():
        rows.append(
            Case(
                "mlflow  pyfunc.load_model(mlflow3 skops)", ml, "mlflow.pyfunc", ml_load, skops_dir
            )
        )
        rows.append(
            Case("modelpack load_model(mlflow3 skops)", mp, "modelpack", mp_load, skops_dir)
        )
    return rows


def time_cases(
    todo: list[Case], expected: dict[str, object], runs: int, cwd: Path, skip: dict[str, str]
) -> list[Timing]:
    """Time each case, the rows taking turns run by run; a modelpack case that fails is
    recorded in ``skip``, not fatal."""
    live = []
    for case in todo:
        if case.label in skip:
            continue
        print(f"warming up {case.label} ...", flush=True)
        try:
            time_snippet(case.label, case.python, case.code(expected), runs=0, cwd=cwd)
        except BenchError as err:
            if case.label == BASELINE:
                raise
            skip[case.label] = str(err).strip().splitlines()[-1]
            continue
        live.append(case)
    times: dict[str, list[float]] = {case.label: [] for case in live}
    cpu: dict[str, list[float]] = {case.label: [] for case in live}
    for run in range(runs):
        print(f"run {run + 1}/{runs} ...", flush=True)
        for case in live:
            before = _children_cpu()
            timing = time_snippet(
                case.label, case.python, case.code(expected), runs=1, warmup=0, cwd=cwd
            )
            cpu[case.label].append(_children_cpu() - before)
            times[case.label].extend(timing.times)
    CPU_TIMES.extend(Timing(label, tuple(values)) for label, values in cpu.items())
    return [Timing(label, tuple(values)) for label, values in times.items()]


#: CPU seconds (user + system) of the same runs: the machine's other load stretches
#: wall time far more than it stretches the work a process does.
CPU_TIMES: list[Timing] = []


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def report(timings: list[Timing], skip: dict[str, str], runs: int) -> int:
    rows = [(t.label, t.median) for t in timings]
    print_table(f"import + load + first predict, fresh process, median of {runs}", rows, BASELINE)
    for label, why in skip.items():
        print(f"NOT MEASURED  {label}: {why}")
    medians = dict(rows)
    own = medians.get(OWN)
    if own is None or FLOOR not in medians:
        print("targets: not measured")
        return 1
    ratio = own / medians[BASELINE]
    print(verdict("modelpack (own skops dir) <= 1/3 mlflow (pickle fixture)", ratio, TARGET_RATIO))
    print(f"floor / mlflow: {medians[FLOOR] / medians[BASELINE]:.3f} (the best any loader can do)")
    floor_ratio = own / medians[FLOOR]
    print(verdict("modelpack (own skops dir) <= 1.2x the floor", floor_ratio, FLOOR_TARGET))
    cpu = {t.label: t.median for t in CPU_TIMES}
    print_table(
        f"CPU seconds (user + system) of the same runs, median of {runs}",
        list(cpu.items()),
        BASELINE,
    )
    print(f"CPU: modelpack (own skops dir) / floor = {cpu[OWN] / cpu[FLOOR]:.3f}")
    return 0 if floor_ratio <= FLOOR_TARGET else 1


def measure(runs: int, fixture_version: str) -> int:
    fixture_dir = FIXTURES / fixture_version
    expected = load_expected(fixture_dir)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as scratch:
        own_dir = Path(scratch) / "iris_modelpack"
        skip: dict[str, str] = {}
        why = save_modelpack_model(own_dir)
        if why is not None:
            skip[OWN] = f"modelpack.sklearn.save_model failed: {why}"
        print(f"interpreters: modelpack {modelpack_python()}; mlflow {mlflow_python()}")
        timings = time_cases(cases(fixture_dir, own_dir), expected, runs, Path(scratch), skip)
        return report(timings, skip, runs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per row")
    parser.add_argument(
        "--fixtures", default="mlflow3", help="fixture set under tests/fixtures (mlflow3, mlflow2)"
    )
    args = parser.parse_args(argv)
    try:
        return measure(args.runs, args.fixtures)
    except BenchError as err:
        return exit_on_bench_error(err)


if __name__ == "__main__":
    sys.exit(main())
