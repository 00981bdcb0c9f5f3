"""A model's first call is paid before the server reports ready, not by a client."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

COLD_CALL_S = 3.0


def _cold_model() -> Any:
    import modelpack

    class ColdFirstCall(modelpack.pyfunc.PythonModel):
        """Slow on its first prediction only, like a lazily built ONNX session."""

        def load_context(self, context: Any) -> None:
            self.calls = 0

        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            self.calls += 1
            if self.calls == 1:
                time.sleep(COLD_CALL_S)
            return model_input["x"].to_numpy() * 2.0

    return ColdFirstCall()


@pytest.fixture(scope="module")
def cold_model(models_dir: Path) -> Path:
    import cloudpickle

    import modelpack

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    path = models_dir / "cold-first-call"
    modelpack.pyfunc.save_model(
        path, python_model=_cold_model(), input_example=pd.DataFrame({"x": [1.0, 2.0]})
    )
    return path


def _first_answer(server: Any) -> tuple[int, float]:
    started = time.perf_counter()
    response = server.client.post("/invocations", json={"dataframe_records": [{"x": 4.0}]})
    return response.status_code, time.perf_counter() - started


def test_the_first_request_does_not_pay_for_a_cold_model(
    start_server: Any, cold_model: Path
) -> None:
    server = start_server(cold_model, "--trust", "--timeout", "2")
    status, seconds = _first_answer(server)
    assert status == 200
    assert seconds < COLD_CALL_S
    assert server.client.post("/invocations", json={"dataframe_records": [{"x": 4.0}]}).json() == {
        "predictions": [8.0]
    }


def test_without_warmup_the_first_request_meets_the_cold_call(
    start_server: Any, cold_model: Path
) -> None:
    server = start_server(cold_model, "--trust", "--timeout", "2", "--no-warmup")
    status, _ = _first_answer(server)
    assert status == 504  # the cold call outlasts --timeout: what --warmup spares clients


def test_a_failing_warmup_is_logged_and_the_model_still_serves(
    start_server: Any, models_dir: Path
) -> None:
    import modelpack
    from modelpack.signature import ColSpec, ModelSignature, Schema

    path = models_dir / "stale-example"
    # the example names a column the signature no longer has
    modelpack.pyfunc.save_model(
        path,
        python_model=_cold_model(),
        input_example=pd.DataFrame({"old": [1.0]}),
        signature=ModelSignature(inputs=Schema([ColSpec("double", "x")])),
    )
    server = start_server(path, "--trust")
    assert "warm-up prediction failed" in server.log()
    response = server.client.post("/invocations", json={"dataframe_records": [{"x": 1.0}]})
    assert response.status_code == 200


def test_a_tensor_model_without_an_example_is_warmed_on_zeros(
    start_server: Any, onnx_model: Path
) -> None:
    server = start_server(onnx_model)
    assert "warmed up on a row of zeros" in server.log()
    assert server.client.post("/invocations", json={"inputs": [[5.1, 3.5, 1.4, 0.2]]}).json()[
        "predictions"
    ]["label"] == [0]
