"""Import time: ``python -c "import modelpack"`` vs ``python -c "import mlflow"``.

Each figure is the median wall time of fresh processes (no ``-X importtime``).
The bare interpreter start (``python -c pass``) of each interpreter is measured
too and subtracted, giving the net cost of the import. Target: modelpack's net
import time at most 1/10 of MLflow's. Also checks that ``import modelpack``
loads none of the heavy libraries.

    python bench/bench_import.py [--runs 7]

Exit status: 0 when both targets are met, 1 when one is missed, 2 on error.
"""

from __future__ import annotations

import argparse
import json
import sys

from _baseline import (
    REPO_ROOT,
    BenchError,
    exit_on_bench_error,
    mlflow_python,
    modelpack_python,
    print_table,
    run_snippet,
    time_snippet,
    verdict,
)

TARGET_RATIO = 1 / 10
FORBIDDEN = ("sklearn", "onnxruntime", "pandas", "pyarrow")
ALSO_REPORTED = ("numpy", "scipy", "onnx", "yaml", "pydantic", "starlette", "uvicorn")
LIST_MODULES = "import sys, json; import {mod}; print(json.dumps(sorted(sys.modules)))"


def loaded_modules(python: str, module: str) -> list[str]:
    """The names in ``sys.modules`` after ``import module`` in a fresh process."""
    return list(json.loads(run_snippet(python, LIST_MODULES.format(mod=module))))


def top_level(modules: list[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def report_modules(mp_python: str, ml_python: str) -> bool:
    """Print what ``import modelpack`` pulls in; True when no forbidden module is loaded."""
    mp_modules = loaded_modules(mp_python, "modelpack")
    ml_modules = loaded_modules(ml_python, "mlflow")
    mp_top = top_level(mp_modules)
    heavy = [name for name in FORBIDDEN if name in mp_top]
    others = [name for name in ALSO_REPORTED if name in mp_top]
    print(f"\nmodules in sys.modules: modelpack {len(mp_modules)}, mlflow {len(ml_modules)}")
    print(f"heavy modules loaded by `import modelpack`: {', '.join(heavy) or 'none'}")
    print(f"  (checked: {', '.join(FORBIDDEN)})")
    print(f"other notable modules loaded: {', '.join(others) or 'none'}")
    return not heavy


def measure(runs: int) -> int:
    mp_python = modelpack_python()
    ml_python = mlflow_python()
    # The installed interpreter's .pth files (editable finder and others) preload typing,
    # pathlib, zipfile...: its `pass` already pays for part of modelpack's import. The
    # MLflow venv's python with the repository on PYTHONPATH has no such preloads, so
    # that row is the conservative (honest) net figure.
    in_venv = {"PYTHONPATH": str(REPO_ROOT)}
    timings = [
        time_snippet("python -c pass (modelpack python)", mp_python, "pass", runs=runs),
        time_snippet("import modelpack", mp_python, "import modelpack", runs=runs),
        time_snippet("python -c pass (mlflow venv)", ml_python, "pass", runs=runs),
        time_snippet("import mlflow", ml_python, "import mlflow", runs=runs),
        time_snippet(
            "import modelpack (mlflow venv python)",
            ml_python,
            "import modelpack",
            runs=runs,
            env=in_venv,
        ),
    ]
    bare_mp, raw_mp, bare_ml, raw_ml, raw_mp_clean = (t.median for t in timings)
    print(f"interpreters: modelpack {mp_python}; mlflow {ml_python}; {runs} runs each, median")
    print_table(
        "raw wall time (process start + import)",
        [(t.label, t.median) for t in timings],
        "import mlflow",
    )
    net_ml = raw_ml - bare_ml
    nets = [
        ("import modelpack", raw_mp - bare_mp),
        ("import modelpack (mlflow venv python)", raw_mp_clean - bare_ml),
        ("import mlflow", net_ml),
    ]
    print_table(
        "net import time (raw minus the same interpreter's `python -c pass`)",
        nets,
        "import mlflow",
    )
    net_ratio = max(nets[0][1], nets[1][1]) / net_ml
    print(
        f"\nraw ratio modelpack/mlflow: {raw_mp / raw_ml:.3f} (installed python), "
        f"{raw_mp_clean / raw_ml:.3f} (same interpreter)"
    )
    print(verdict("net import modelpack <= 1/10 mlflow (larger net)", net_ratio, TARGET_RATIO))
    clean = report_modules(mp_python, ml_python)
    print(f"target no heavy modules on import: {'MET' if clean else 'MISSED'}")
    return 0 if clean and net_ratio <= TARGET_RATIO else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per snippet")
    args = parser.parse_args(argv)
    try:
        return measure(args.runs)
    except BenchError as err:
        return exit_on_bench_error(err)


if __name__ == "__main__":
    sys.exit(main())
