"""``modelpack serve`` at start: what it cannot do is ``error: …`` and exit 1, never a
traceback; a model that cannot be served stops it, unless ``--watch`` keeps retrying."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.serving.watch_scenario import serve_through_a_bad_version

BAD_SIGNATURE = '[{"type": "no-such-type", "name": "sepal_length"}]'


def _serve(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from modelpack.cli import main; main()", "serve", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def _assert_refused(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "error: " in done.stderr, done.stderr
    for text in expected:
        assert text in done.stderr, done.stderr


def test_a_port_already_in_use_is_an_error(iris_model: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve("-m", str(iris_model), "--host", "127.0.0.1", "--port", str(port))
    _assert_refused(done, f"port {port}", "already in use")


def test_a_host_not_on_this_machine_is_an_error(iris_model: Path) -> None:
    # 192.0.2.1 is reserved for documentation (TEST-NET-1): never a local address
    done = _serve("-m", str(iris_model), "--host", "192.0.2.1", "--port", "0")
    _assert_refused(done, "'192.0.2.1'", "--host")


@pytest.fixture(scope="module")
def bad_signature_model(iris_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The iris model with an input type no version of modelpack knows."""
    path = tmp_path_factory.mktemp("bad-signature") / "model"
    shutil.copytree(iris_model, path)
    _break_signature(path)
    return path


def _break_signature(path: Path) -> None:
    mlmodel = yaml.safe_load((path / "MLmodel").read_text())
    mlmodel["signature"]["inputs"] = BAD_SIGNATURE
    (path / "MLmodel").write_text(yaml.safe_dump(mlmodel))


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_model_with_a_bad_signature_fails_at_start(
    bad_signature_model: Path, workers: str
) -> None:
    start = time.monotonic()
    done = _serve("-m", str(bad_signature_model), "--port", "0", "--workers", workers)
    _assert_refused(done, "no-such-type")
    assert time.monotonic() - start < 60


def _broken_model(tmp_path: Path) -> Path:
    import cloudpickle

    import modelpack

    class Broken(modelpack.pyfunc.PythonModel):
        def load_context(self, context: Any) -> None:
            raise RuntimeError("the secret in the model's own message")

        def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
            return model_input

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    path = tmp_path / "broken"
    modelpack.pyfunc.save_model(path, python_model=Broken())
    return path


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_model_that_cannot_load_stops_the_server_with_the_reason(
    tmp_path: Path, workers: str
) -> None:
    done = _serve(
        "-m", str(_broken_model(tmp_path)), "--trust", "--port", "0", "--workers", workers
    )
    _assert_refused(done, "could not load the model")
    assert "RuntimeError" in done.stderr
    assert "the secret" not in done.stderr


def test_an_untrusted_payload_stops_the_server_with_the_reason(tmp_path: Path) -> None:
    done = _serve("-m", str(_broken_model(tmp_path)), "--port", "0")
    _assert_refused(done, "MODELPACK_TRUST_PICKLE")


def test_with_watch_a_bad_signature_is_retried_until_a_good_version_comes(
    iris_model: Path,
    shifted_iris_model: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import modelpack

    store = tmp_path / "store"
    monkeypatch.setenv("MODELPACK_TRACKING_URI", str(store))
    client = modelpack.Client(str(store))
    broken = tmp_path / "broken"
    shutil.copytree(shifted_iris_model, broken)
    _break_signature(broken)  # broken before registration: the registry's digest covers it
    for model in (iris_model, broken, iris_model):  # the store dedups content
        modelpack.register_model(model, "iris", client=client)
    with caplog.at_level("WARNING", logger="modelpack.serving"):
        first, during, after = serve_through_a_bad_version(client, 0.5)
    # the watch used to end for good at version 2: version 3 was never served
    assert (first, during, after) == ("1", "1", "3")
    tries = [r.getMessage() for r in caplog.records if "version 2 could not be" in r.getMessage()]
    assert tries and "no-such-type" in tries[0]
