"""Custom Python models: conformance, artifacts, code paths, params, trust."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modelpack
from modelpack.errors import InvalidInput, ModelFormatError, SchemaError, UntrustedPayloadError
from modelpack.pyfunc import PythonModel
from modelpack.signature import ModelSignature, ParamSchema, ParamSpec
from modelpack.testing import CHECKS, FlavorCase, parametrize_conformance


class Scale(PythonModel):
    """Multiplies every column by a factor read from an artifact, plus an optional param."""

    def load_context(self, context):
        self.factor = float(Path(context.artifacts["factor"]).read_text())

    def predict(self, context, model_input, params=None):
        return model_input * self.factor + (params or {}).get("offset", 0.0)


class NoParams(PythonModel):
    def predict(self, context, model_input):
        return model_input.sum(axis=1)


def _case(tmp_factory) -> FlavorCase:
    factor = tmp_factory.mktemp("artifacts") / "factor.txt"
    factor.write_text("3")
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [0.5, -1.0]})
    signature = modelpack.infer_signature(frame, frame * 3)
    return FlavorCase(
        name="pyfunc",
        flavor="python_function",
        save=lambda path: modelpack.pyfunc.save_model(
            path, python_model=Scale(), artifacts={"factor": factor}, signature=signature
        ),
        input=frame,
        expected=frame * 3,
        trust=True,
    )


@pytest.fixture(scope="module")
def case(tmp_path_factory) -> FlavorCase:
    return _case(tmp_path_factory)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_conformance(case: FlavorCase, check, tmp_path: Path) -> None:
    check(case, tmp_path)


def test_parametrize_conformance_builds_ids() -> None:
    mark = parametrize_conformance(FlavorCase("x", "f", lambda p: None, None, None))
    assert mark.kwargs["ids"][0] == "x-round_trip"


def test_params_are_checked_and_defaulted(tmp_path: Path) -> None:
    factor = tmp_path / "factor.txt"
    factor.write_text("2")
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    signature = ModelSignature(
        inputs=modelpack.infer_signature(frame).inputs,
        params=ParamSchema([ParamSpec("offset", "double", 10.0)]),
    )
    modelpack.pyfunc.save_model(
        tmp_path / "m", python_model=Scale(), artifacts={"factor": factor}, signature=signature
    )
    model = modelpack.load_model(tmp_path / "m", trust=True)
    np.testing.assert_allclose(model.predict(frame)["a"], [12.0, 14.0])
    np.testing.assert_allclose(model.predict(frame, params={"offset": 1.0})["a"], [3.0, 5.0])
    with pytest.raises(SchemaError, match="unknown"):
        model.predict(frame, params={"ofset": 1.0})


def test_predict_without_params_argument_and_unwrap(tmp_path: Path) -> None:
    modelpack.pyfunc.save_model(tmp_path / "m", python_model=NoParams())
    model = modelpack.load_model(tmp_path / "m", trust=True)
    frame = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    assert model.predict(frame).tolist() == [4, 6]
    assert isinstance(model.unwrap_python_model(), NoParams)


def test_untrusted_custom_model_is_refused(tmp_path: Path) -> None:
    modelpack.pyfunc.save_model(tmp_path / "m", python_model=NoParams())
    with pytest.raises(UntrustedPayloadError, match="runs its code"):
        modelpack.load_model(tmp_path / "m")


def test_code_paths_are_importable_at_load(tmp_path: Path) -> None:
    package = tmp_path / "src" / "mp_helper_mod.py"
    package.parent.mkdir()
    package.write_text("def triple(x):\n    return x * 3\n")

    class UsesCode(PythonModel):
        def predict(self, context, model_input, params=None):
            import mp_helper_mod

            return mp_helper_mod.triple(model_input)

    modelpack.pyfunc.save_model(tmp_path / "m", python_model=UsesCode(), code_paths=[package])
    assert (tmp_path / "m" / "code" / "mp_helper_mod.py").is_file()
    assert modelpack.load_model(tmp_path / "m", trust=True).predict(np.array([1, 2])).tolist() == [
        3,
        6,
    ]


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="PythonModel"):
        modelpack.pyfunc.save_model(tmp_path / "m", python_model=lambda x: x)
    with pytest.raises(InvalidInput, match="no file"):
        modelpack.pyfunc.save_model(
            tmp_path / "m", python_model=NoParams(), artifacts={"x": tmp_path / "missing"}
        )
    assert not (tmp_path / "m").exists()


def test_sklearn_model_has_no_python_model_to_unwrap(iris_lr, tmp_path: Path) -> None:
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m")
    with pytest.raises(ModelFormatError, match="not a custom Python model"):
        modelpack.pyfunc.load_model(tmp_path / "m").unwrap_python_model()
