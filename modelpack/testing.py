"""The conformance kit every flavor must pass, built-in or third-party.

Describe one saved model as a :class:`FlavorCase`, then let pytest run every check::

    from modelpack.testing import FlavorCase, parametrize_conformance

    CASE = FlavorCase(name="my-flavor", flavor="my_flavor", save=save_fn,
                      input=frame, expected=native_predictions)

    @parametrize_conformance(CASE)
    def test_conformance(case, check, tmp_path):
        check(case, tmp_path)

The checks: save → load → predict round trip, MLmodel contents, environment files,
payload integrity, signature enforcement, unknown MLmodel keys surviving a round trip,
and refusing to overwrite an existing model.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelpack.environment import CONDA_ENV_FILE, PYTHON_ENV_FILE, REQUIREMENTS_FILE
from modelpack.errors import AlreadyExists, IntegrityError, SchemaError
from modelpack.input_example import EXAMPLE_FILE, SERVING_EXAMPLE_FILE
from modelpack.mlmodel import HASHES_KEY, PYFUNC_FLAVOR, read_mlmodel, write_mlmodel
from modelpack.pyfunc_model import load_model


@dataclass(frozen=True)
class FlavorCase:
    """One model of a flavor, as the conformance checks need it.

    ``save(path)`` writes the model directory (with a signature, so enforcement can be
    checked); ``input`` is data the model accepts; ``expected`` what the native model
    predicts on it; ``bad_input`` data that must fail enforcement (default: ``input``
    with its first column or tensor removed); ``rtol``/``atol`` the tolerance for
    comparing predictions (a float32 runtime against a float64 estimator needs some).
    """

    name: str
    flavor: str
    save: Callable[[Path], object]
    input: Any
    expected: Any
    trust: bool = False
    bad_input: Any = None
    rtol: float = 1e-6
    atol: float = 0.0


def _require(condition: object, message: str) -> None:
    # Explicit, so the checks still check under ``python -O``.
    if not condition:
        raise AssertionError(message)


def _as_arrays(value: Any) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    if isinstance(value, dict):
        return {str(k): np.asarray(v) for k, v in value.items()}
    if isinstance(value, pd.DataFrame):
        return {str(c): np.asarray(value[c].tolist()) for c in value.columns}
    return {"": np.asarray(value)}


def assert_same_predictions(
    got: Any, expected: Any, *, rtol: float = 1e-6, atol: float = 0.0
) -> None:
    """Assert two prediction results hold the same values (arrays, frames or dicts)."""
    import numpy as np

    got_arrays, expected_arrays = _as_arrays(got), _as_arrays(expected)
    if len(got_arrays) == 1 and len(expected_arrays) == 1:
        got_arrays, expected_arrays = (
            {"": next(iter(got_arrays.values()))},
            {"": next(iter(expected_arrays.values()))},
        )
    _require(
        got_arrays.keys() == expected_arrays.keys(),
        f"prediction outputs differ: {sorted(got_arrays)} vs {sorted(expected_arrays)}",
    )
    for key, array in expected_arrays.items():
        np.testing.assert_allclose(
            np.asarray(got_arrays[key], dtype=float).ravel(),
            np.asarray(array, dtype=float).ravel(),
            rtol=rtol,
            atol=atol,
            err_msg=f"output '{key}' differs",
        )


_BOOKKEEPING_FILES = frozenset(
    {REQUIREMENTS_FILE, PYTHON_ENV_FILE, CONDA_ENV_FILE, EXAMPLE_FILE, SERVING_EXAMPLE_FILE}
)


def _saved(case: FlavorCase, tmp_path: Path) -> Path:
    path = tmp_path / "model"
    case.save(path)
    return path


def check_round_trip(case: FlavorCase, tmp_path: Path) -> None:
    """A saved model loads as a PyFuncModel and predicts what the native model predicts."""
    model = load_model(_saved(case, tmp_path), trust=case.trust)
    assert_same_predictions(
        model.predict(case.input), case.expected, rtol=case.rtol, atol=case.atol
    )


def check_mlmodel_contents(case: FlavorCase, tmp_path: Path) -> None:
    """MLmodel names the flavor, the pyfunc loader, the signature and the bookkeeping keys."""
    mlmodel = read_mlmodel(_saved(case, tmp_path))
    flavors = mlmodel["flavors"]
    _require(case.flavor in flavors, f"MLmodel has no '{case.flavor}' block: {sorted(flavors)}")
    pyfunc = flavors[PYFUNC_FLAVOR]
    for key in ("loader_module", "python_version", "env"):
        _require(key in pyfunc, f"python_function block lacks '{key}'")
    for key in ("model_uuid", "utc_time_created", "modelpack_version", "model_size_bytes"):
        _require(key in mlmodel, f"MLmodel lacks '{key}'")
    _require(
        isinstance(mlmodel.get("signature", {}).get("inputs"), str),
        "the signature's inputs must be stored as a JSON string, as MLflow writes them",
    )
    _require(mlmodel.get(HASHES_KEY), "MLmodel records no payload hashes")


def check_environment_files(case: FlavorCase, tmp_path: Path) -> None:
    """requirements.txt is pinned; python_env.yaml and conda.yaml point at it."""
    import yaml

    path = _saved(case, tmp_path)
    requirements = (path / REQUIREMENTS_FILE).read_text().split()
    _require(requirements, "requirements.txt is empty")
    _require(all("==" in r or r.startswith("-") for r in requirements), "requirements not pinned")
    python_env = yaml.safe_load((path / PYTHON_ENV_FILE).read_text())
    _require(python_env["python"].count(".") == 2, "python_env.yaml must pin python x.y.z")
    _require(f"-r {REQUIREMENTS_FILE}" in python_env["dependencies"], "check failed")
    conda = yaml.safe_load((path / CONDA_ENV_FILE).read_text())
    pip_section = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    _require(pip_section == requirements, "conda.yaml's pip list differs from requirements.txt")


def check_integrity(case: FlavorCase, tmp_path: Path) -> None:
    """A payload file changed after saving is refused on load, by name."""
    path = _saved(case, tmp_path)
    payload = max(
        (f for f in read_mlmodel(path)[HASHES_KEY] if f not in _BOOKKEEPING_FILES),
        key=lambda f: (path / f).stat().st_size,
    )
    target = path / payload
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    try:
        load_model(path, trust=case.trust)
    except IntegrityError as exc:
        _require(payload in str(exc), f"the integrity error does not name '{payload}'")
    else:
        raise AssertionError("a truncated payload loaded without an IntegrityError")


def _drop_first(data: Any) -> Any:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data.drop(columns=data.columns[0])
    if isinstance(data, dict):
        return {k: v for k, v in list(data.items())[1:]}
    return data[..., :0]


def check_enforcement(case: FlavorCase, tmp_path: Path) -> None:
    """Input that does not match the signature fails with a SchemaError before the model."""
    model = load_model(_saved(case, tmp_path), trust=case.trust)
    bad = case.bad_input if case.bad_input is not None else _drop_first(case.input)
    try:
        model.predict(bad)
    except SchemaError:
        return
    raise AssertionError("input that breaks the signature was accepted")


def check_unknown_keys_survive(case: FlavorCase, tmp_path: Path) -> None:
    """Keys another tool wrote into MLmodel survive a read/write and still load."""
    path = _saved(case, tmp_path)
    mlmodel = read_mlmodel(path)
    mlmodel["x_other_tool"] = {"kept": [1, 2, 3]}
    write_mlmodel(path, mlmodel)
    _require(read_mlmodel(path)["x_other_tool"] == {"kept": [1, 2, 3]}, "check failed")
    got = load_model(path, trust=case.trust).predict(case.input)
    assert_same_predictions(got, case.expected, rtol=case.rtol, atol=case.atol)


def check_no_silent_overwrite(case: FlavorCase, tmp_path: Path) -> None:
    """Saving onto an existing model is refused and leaves the old model loadable."""
    path = _saved(case, tmp_path)
    before = sorted(os.listdir(path))
    try:
        case.save(path)
    except AlreadyExists:
        pass
    else:
        raise AssertionError("saving onto an existing model directory did not raise AlreadyExists")
    _require(sorted(os.listdir(path)) == before, "check failed")
    load_model(path, trust=case.trust)


CHECKS: tuple[Callable[[FlavorCase, Path], None], ...] = (
    check_round_trip,
    check_mlmodel_contents,
    check_environment_files,
    check_integrity,
    check_enforcement,
    check_unknown_keys_survive,
    check_no_silent_overwrite,
)


def parametrize_conformance(*cases: FlavorCase) -> Any:
    """A pytest ``parametrize`` mark over every (case, check) pair, with readable ids."""
    import pytest

    pairs = [(case, check) for case in cases for check in CHECKS]
    ids = [f"{case.name}-{check.__name__.removeprefix('check_')}" for case, check in pairs]
    return pytest.mark.parametrize(("case", "check"), pairs, ids=ids)


__all__ = [
    "CHECKS",
    "FlavorCase",
    "assert_same_predictions",
    "check_enforcement",
    "check_environment_files",
    "check_integrity",
    "check_mlmodel_contents",
    "check_no_silent_overwrite",
    "check_round_trip",
    "check_unknown_keys_survive",
    "parametrize_conformance",
]
