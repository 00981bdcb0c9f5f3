"""Session fixtures for the serving tests: real models, saved once; real servers, started once.

Each server is ``modelpack serve`` in its own process on a free loopback port, spoken
to over real HTTP with httpx. Fixtures are small factories; servers are shared by
every test that needs the same model and options.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from serving_helpers import IRIS_COLUMNS, Server, launch, mixed_frame


@pytest.fixture(scope="session")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Factory: ``start_server(model_dir, *cli_args, env=None) -> Server``; all stopped at the end."""
    servers: list[Server] = []
    log_dir = tmp_path_factory.mktemp("server-logs")

    def start(model: Path | str, *args: str, env: dict[str, str] | None = None) -> Server:
        server = launch(model, *args, env=env, log_dir=log_dir)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# --- models ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def iris_frame() -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_iris

    data = load_iris()
    return pd.DataFrame(data.data, columns=IRIS_COLUMNS), data.target


@pytest.fixture(scope="session")
def iris_estimator(iris_frame: tuple[pd.DataFrame, np.ndarray]) -> Any:
    from sklearn.linear_model import LogisticRegression

    x, y = iris_frame
    return LogisticRegression(max_iter=500).fit(x, y)


@pytest.fixture(scope="session")
def iris_model(models_dir: Path, iris_frame: Any, iris_estimator: Any) -> Path:
    """Iris LogisticRegression fitted on named double columns, with a signature."""
    import modelpack

    x, _ = iris_frame
    path = models_dir / "iris"
    signature = modelpack.infer_signature(x, iris_estimator.predict(x))
    modelpack.sklearn.save_model(iris_estimator, path, signature=signature, input_example=x.head(2))
    return path


@pytest.fixture(scope="session")
def mixed_estimator() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    x, y = mixed_frame()
    columns = ColumnTransformer(
        [("city", OneHotEncoder(handle_unknown="ignore"), ["city"])], remainder="passthrough"
    )
    return Pipeline([("columns", columns), ("clf", LogisticRegression(max_iter=1000))]).fit(x, y)


@pytest.fixture(scope="session")
def mixed_model(models_dir: Path, mixed_estimator: Any) -> Path:
    """A Pipeline over a string column (one-hot) and long + double columns."""
    import modelpack

    x, _ = mixed_frame()
    path = models_dir / "mixed"
    signature = modelpack.infer_signature(x, mixed_estimator.predict(x))
    modelpack.sklearn.save_model(mixed_estimator, path, signature=signature)
    return path


@pytest.fixture(scope="session")
def onnx_model(models_dir: Path, iris_frame: Any) -> Path:
    """Iris LogisticRegression converted with skl2onnx: one float32 tensor in, two out."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    import modelpack

    x, y = iris_frame
    clf = LogisticRegression(max_iter=500).fit(x.to_numpy(np.float32), y)
    proto = convert_sklearn(
        clf,
        initial_types=[("input", FloatTensorType([None, 4]))],
        options={id(clf): {"zipmap": False}},
        target_opset=17,
    )
    path = models_dir / "iris-onnx"
    modelpack.onnx.save_model(proto, path)
    return path


@pytest.fixture(scope="session")
def pyfunc_model(models_dir: Path) -> Path:
    """A custom Python model with params: ``x * scale + offset``; ``delay`` sleeps first."""
    import cloudpickle

    import modelpack
    from modelpack.signature import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema

    # the server process cannot import this conftest: ship the class by value
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    signature = ModelSignature(
        inputs=Schema([ColSpec("double", "x")]),
        outputs=Schema([ColSpec("double")]),
        params=ParamSchema(
            [
                ParamSpec("scale", "double", 1.0),
                ParamSpec("offset", "double", 0.0),
                ParamSpec("delay", "double", 0.0),
            ]
        ),
    )
    path = models_dir / "scaler"
    modelpack.pyfunc.save_model(path, python_model=_scaler(), signature=signature)
    return path


@pytest.fixture(scope="session")
def echo_model(models_dir: Path) -> Path:
    """A custom model answering its enforced input: the frame, or with ``series`` set, its
    string column as a named Series (text, binary and time columns to encode back)."""
    import cloudpickle

    import modelpack
    from modelpack.signature import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    signature = ModelSignature(
        inputs=Schema(
            [
                ColSpec("double", "d"),
                ColSpec("string", "s"),
                ColSpec("datetime", "t"),
                ColSpec("binary", "y"),
            ]
        ),
        params=ParamSchema([ParamSpec("series", "boolean", False)]),
    )
    path = models_dir / "echo"
    modelpack.pyfunc.save_model(path, python_model=_echo(), signature=signature)
    return path


def _echo() -> Any:
    import modelpack

    class Echo(modelpack.pyfunc.PythonModel):
        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return model_input["s"] if (params or {}).get("series") else model_input

    return Echo()


@pytest.fixture(scope="session")
def shifted_iris_model(models_dir: Path, iris_frame: Any) -> Path:
    """Iris columns, but every label moved by one: a second version that answers differently."""
    from sklearn.linear_model import LogisticRegression

    import modelpack

    x, y = iris_frame
    estimator = LogisticRegression(max_iter=500).fit(x, (y + 1) % 3)
    path = models_dir / "iris-shifted"
    signature = modelpack.infer_signature(x, estimator.predict(x))
    modelpack.sklearn.save_model(estimator, path, signature=signature)
    return path


@pytest.fixture(scope="session")
def slow_loading_model(models_dir: Path) -> Path:
    """A custom model that takes a second and a half to load."""
    import cloudpickle

    import modelpack
    from modelpack.signature import ColSpec, ModelSignature, Schema

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    path = models_dir / "slow-loading"
    signature = ModelSignature(inputs=Schema([ColSpec("double", "x")]))
    modelpack.pyfunc.save_model(path, python_model=_scaler(load_delay=1.5), signature=signature)
    return path


def _scaler(load_delay: float = 0.0) -> Any:
    import modelpack

    class Scaler(modelpack.pyfunc.PythonModel):
        def load_context(self, context: Any) -> None:
            time.sleep(load_delay)

        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            params = params or {"scale": 1.0, "offset": 0.0}
            if params.get("delay"):
                time.sleep(params["delay"])
            return model_input["x"].to_numpy() * params["scale"] + params["offset"]

    return Scaler()


# --- servers shared by the tests -------------------------------------------------------


@pytest.fixture(scope="session")
def iris_server(start_server: Any, iris_model: Path) -> Server:
    return start_server(iris_model, "--max-body-bytes", "200000")


@pytest.fixture(scope="session")
def mixed_server(start_server: Any, mixed_model: Path) -> Server:
    return start_server(mixed_model)


@pytest.fixture(scope="session")
def onnx_server(start_server: Any, onnx_model: Path) -> Server:
    return start_server(onnx_model)


@pytest.fixture(scope="session")
def echo_server(start_server: Any, echo_model: Path) -> Server:
    return start_server(echo_model, "--trust")


@pytest.fixture(scope="session")
def pyfunc_server(start_server: Any, pyfunc_model: Path) -> Server:
    return start_server(pyfunc_model, "--trust", "--timeout", "1", "--max-queue", "3")
