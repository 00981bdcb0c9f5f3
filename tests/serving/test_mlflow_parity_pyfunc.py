"""``/invocations`` answers a custom Python model byte for byte as ``mlflow models serve``.

One directory both servers load: a ``modelpack.pyfunc.PythonModel`` saved by modelpack
(``make_pyfunc_parity_model.py``, class pickled by value). Its MLmodel names
``modelpack.flavors.pyfunc`` as loader module, so MLflow imports modelpack and calls its
``_load_pyfunc``. modelpack is made importable in the MLflow server process only, never
installed into the shared cached MLflow venv: the installed layout maps ``flavors/`` and
``serving/`` into ``modelpack.flavors`` / ``modelpack.serving``, so a temporary directory
holds a ``modelpack/`` package of symlinks (this checkout's ``modelpack/*`` plus
``flavors`` and ``serving``), put on ``PYTHONPATH`` for that subprocess; the server runs
from that directory's parent, so no checkout on the current directory shadows it.
Loading the pickle needs ``MODELPACK_TRUST_PICKLE=1`` on both sides.

The ``kind`` parameter selects what ``predict`` returns (see the script); every JSON
request form goes with each kind, CSV with the default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Server
from test_mlflow_parity import COLUMNS, _forms, _free_port

sys.path.insert(0, str(Path(__file__).parents[1]))
from mlflow_venv import mlflow_python  # noqa: E402

CHECKOUT = Path(__file__).parents[2]
TRUST = {"MODELPACK_TRUST_PICKLE": "1"}
KINDS = ("array", "frame", "dict", "float32", "tiny", "series", "strings", "nan")
KINDS += ("bools", "unicode", "big", "negzero", "list", "scalar", "records", "nested")
KINDS += ("frame_nan", "frame_intcols", "frame_f32", "frame_dates", "frame_cat")
KINDS += ("series_named", "dict_f32", "bytes", "bytes_s", "bytes_list")
KINDS += ("dt64_s", "dt64_ns", "dt64_scalars", "dt64_ns_scalars", "times")


@pytest.fixture(scope="module")
def pyfunc_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pyfunc-parity")
    script = Path(__file__).with_name("make_pyfunc_parity_model.py")
    subprocess.run([sys.executable, str(script), str(out)], check=True, cwd=out)
    return out / "pyfunc"


def _importable_modelpack(root: Path) -> Path:
    """``root/modelpack``: this checkout's package as installed, made of symlinks."""
    package = root / "modelpack"
    package.mkdir()
    for entry in (CHECKOUT / "modelpack").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    (package / "flavors").symlink_to(CHECKOUT / "flavors")
    (package / "serving").symlink_to(CHECKOUT / "serving")
    return root


@pytest.fixture(scope="module")
def mlflow_server(pyfunc_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    python = mlflow_python()
    site = _importable_modelpack(tmp_path_factory.mktemp("modelpack-site"))
    env = {
        **os.environ,
        **TRUST,
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(site),
    }
    port = _free_port()
    command = [python, "-m", "mlflow", "models", "serve", "--env-manager", "local"]
    command += ["-m", str(pyfunc_model), "-p", str(port), "-h", "127.0.0.1"]
    log_path = tmp_path_factory.mktemp("mlflow-pyfunc-log") / "mlflow.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=site.parent,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text()[-3000:])
            try:
                if httpx.get(f"{url}/ping", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)  # the mlflow CLI and the uvicorn it started
        proc.wait(30)


@pytest.fixture(scope="module")
def our_server(start_server: object, pyfunc_model: Path) -> Server:
    return start_server(pyfunc_model, env=TRUST)  # type: ignore[operator,no-any-return]


@pytest.mark.parametrize("kind", KINDS)
def test_pyfunc_invocations_answer_as_mlflow_does(
    kind: str, mlflow_server: str, our_server: Server
) -> None:
    compared = 0
    for form, (content_type, body) in _forms(column_model=True).items():
        if content_type == "application/json":
            body = json.dumps({**json.loads(body), "params": {"kind": kind}})
        elif kind != "array":
            continue  # CSV carries no params: the default kind only
        headers = {"Content-Type": content_type}
        theirs = httpx.post(f"{mlflow_server}/invocations", content=body, headers=headers)
        mine = our_server.client.post("/invocations", content=body, headers=headers)
        assert mine.status_code == theirs.status_code, (form, theirs.text, mine.text)
        assert theirs.status_code == 200, (form, theirs.text)
        assert mine.content == theirs.content, (form, theirs.text, mine.text)
        assert mine.headers["content-type"] == theirs.headers["content-type"], form
        compared += 1
    assert compared >= 9


def test_mlflow_loader_hook_refuses_the_pickle_unless_trusted(
    pyfunc_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what `mlflow.pyfunc.load_model` calls: the same trust rule as modelpack's own loading
    import pandas as pd

    from modelpack.errors import UntrustedPayloadError
    from modelpack.flavors.pyfunc import _load_pyfunc

    monkeypatch.delenv("MODELPACK_TRUST_PICKLE", raising=False)
    with pytest.raises(UntrustedPayloadError, match="MODELPACK_TRUST_PICKLE"):
        _load_pyfunc(str(pyfunc_model))
    monkeypatch.setenv("MODELPACK_TRUST_PICKLE", "1")
    frame = pd.DataFrame([[3.0, 0.0, 0.0, 0.0]], columns=COLUMNS)
    model = _load_pyfunc(str(pyfunc_model), {"unused": 1})
    assert model.predict(frame).tolist() == [1.0]
    assert model.predict(frame, {"kind": "strings"}).tolist() == ["class-0"]
