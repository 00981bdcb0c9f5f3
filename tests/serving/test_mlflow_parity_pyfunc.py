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
request form goes with each kind, CSV with the default. A second model, ``echo``, has no
signature and answers its input: both servers must hand it the same parsed object.

Deliberate difference: a ragged or mixed-type ``inputs`` tensor, which MLflow passes on
as an object array and modelpack refuses (400).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from serving_helpers import Server
from test_mlflow_parity import COLUMNS, _forms, _free_port, serving_until_done

sys.path.insert(0, str(Path(__file__).parents[1]))
from mlflow_venv import mlflow_python  # noqa: E402

CHECKOUT = Path(__file__).parents[2]
TRUST = {"MODELPACK_TRUST_PICKLE": "1"}
MODELS = ("pyfunc", "echo")
KINDS = ("array", "frame", "dict", "float32", "tiny", "series", "strings", "nan")
KINDS += ("bools", "unicode", "big", "negzero", "list", "scalar", "records", "nested")
KINDS += ("frame_nan", "frame_intcols", "frame_f32", "frame_dates", "frame_cat")
KINDS += ("series_named", "dict_f32", "bytes", "bytes_s", "bytes_list")
KINDS += ("int_0d", "float_0d", "int_strided", "int_bigendian", "float_bigendian")
KINDS += ("dt64_s", "dt64_ns", "dt64_scalars", "dt64_ns_scalars", "times")


@pytest.fixture(scope="module")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pyfunc-parity")
    script = Path(__file__).with_name("make_pyfunc_parity_model.py")
    subprocess.run([sys.executable, str(script), str(out)], check=True, cwd=out)
    return out


@pytest.fixture(scope="module")
def pyfunc_model(models_root: Path) -> Path:
    return models_root / "pyfunc"


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
def mlflow_servers(
    models_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    python = mlflow_python()
    site = _importable_modelpack(tmp_path_factory.mktemp("modelpack-site"))
    env = {
        **os.environ,
        **TRUST,
        "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(site),
    }
    logs = tmp_path_factory.mktemp("mlflow-pyfunc-logs")
    procs, urls = [], {}
    for name in MODELS:
        port = _free_port()
        command = [python, "-m", "mlflow", "models", "serve", "--env-manager", "local"]
        command += ["-m", str(models_root / name), "-p", str(port), "-h", "127.0.0.1"]
        with (logs / f"{name}.log").open("wb") as log:
            procs.append(
                subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=site.parent,
                    start_new_session=True,
                )
            )
        urls[name] = f"http://127.0.0.1:{port}"
    yield from serving_until_done(urls, procs, logs)


@pytest.fixture(scope="module")
def our_servers(start_server: Any, models_root: Path) -> dict[str, Server]:
    return {name: start_server(models_root / name, env=TRUST) for name in MODELS}


def _compare(theirs_url: str, ours: Server, content_type: str, body: str) -> httpx.Response:
    """Status, body bytes and content type must match; MLflow's answer is returned."""
    headers = {"Content-Type": content_type}
    theirs = httpx.post(f"{theirs_url}/invocations", content=body, headers=headers)
    mine = ours.client.post("/invocations", content=body, headers=headers)
    assert mine.status_code == theirs.status_code, (body[:80], theirs.text, mine.text)
    if theirs.status_code == 200:
        assert mine.content == theirs.content, (body[:80], theirs.text, mine.text)
        assert mine.headers["content-type"] == theirs.headers["content-type"], body[:80]
    return theirs


@pytest.mark.parametrize("kind", KINDS)
def test_pyfunc_invocations_answer_as_mlflow_does(
    kind: str, mlflow_servers: dict[str, str], our_servers: dict[str, Server]
) -> None:
    compared = 0
    for form, (content_type, body) in _forms(column_model=True).items():
        if content_type == "application/json":
            body = json.dumps({**json.loads(body), "params": {"kind": kind}})
        elif kind != "array":
            continue  # CSV carries no params: the default kind only
        theirs = _compare(mlflow_servers["pyfunc"], our_servers["pyfunc"], content_type, body)
        assert theirs.status_code == 200, (form, theirs.text)
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


ECHO_BODIES = {
    "split": {"dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"], [2.5, None]]}},
    "records": {"dataframe_records": [{"a": 1, "b": "x"}, {"a": 2}]},
    "instances_rows": {"instances": [[1, 2], [3, 4]]},
    "instances_records": {"instances": [{"a": 1, "b": [1, 2]}, {"a": 2, "b": [3, 4]}]},
    "instances_scalars": {"instances": [1, 2, 3]},
    "inputs_rows": {"inputs": [[1.5, 2], [3, 4]]},
    "inputs_columns": {"inputs": {"a": [1, 2], "b": ["x", "y"]}},
    "inputs_tensor_dict": {"inputs": {"a": [[1, 2], [3, 4]], "b": [5, 6]}},
    "inputs_scalar": {"inputs": 3},
    "inputs_string": {"inputs": "hello"},
    "inputs_strings": {"inputs": ["a", "é"]},
    "big_int": {"inputs": [2**53 + 1]},
    "nested_empty": {"inputs": []},
}


@pytest.mark.parametrize("form", ECHO_BODIES)
def test_unsigned_pyfunc_sees_its_input_as_mlflow_parses_it(
    form: str, mlflow_servers: dict[str, str], our_servers: dict[str, Server]
) -> None:
    body = json.dumps(ECHO_BODIES[form])
    _compare(mlflow_servers["echo"], our_servers["echo"], "application/json", body)


def test_unsigned_pyfunc_csv_as_mlflow_parses_it(
    mlflow_servers: dict[str, str], our_servers: dict[str, Server]
) -> None:
    theirs = _compare(mlflow_servers["echo"], our_servers["echo"], "text/csv", "a,b\n1,x\n2.5,\n")
    assert theirs.status_code == 200


def test_mixed_type_tensor_is_refused_where_mlflow_passes_objects(
    mlflow_servers: dict[str, str], our_servers: dict[str, Server]
) -> None:
    # deliberate difference: MLflow hands an unsigned model an object array of whatever
    # came; modelpack refuses a ragged or mixed-type tensor with a 400 that says so
    body = json.dumps({"inputs": [1, "a", None]})
    headers = {"Content-Type": "application/json"}
    theirs = httpx.post(f"{mlflow_servers['echo']}/invocations", content=body, headers=headers)
    mine = our_servers["echo"].client.post("/invocations", content=body, headers=headers)
    assert theirs.status_code == 200
    assert mine.status_code == 400 and mine.json()["error_code"] == "BAD_REQUEST"
    assert "mixes types" in mine.json()["message"]
