"""``modelpack experiments|runs|models`` through the real root command."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import modelpack
from modelpack.cli import cli
from modelpack.tracking import Client

MakeModelDir = Callable[..., Path]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def populated(tracking_uri: str, make_model_dir: MakeModelDir) -> str:
    Client().search_experiments()  # the store and its Default experiment exist
    time.sleep(0.005)  # so "iris" is created in a later millisecond
    modelpack.set_experiment("iris")
    with modelpack.start_run(run_name="rf") as run:
        modelpack.log_param("n", 10)
        modelpack.log_metric("accuracy", 0.97)
        modelpack.log_metric("nan", float("nan"))
    modelpack.register_model(str(make_model_dir()), "iris")
    return run.info.run_id


def test_experiments_list(populated: str) -> None:
    result = invoke("experiments", "list")
    assert result.exit_code == 0
    assert "Default" in result.output and "iris" in result.output
    data = json.loads(invoke("experiments", "list", "--json").output)
    assert [e["name"] for e in data] == ["iris", "Default"]  # newest first, as MLflow


def test_runs_list_and_show(populated: str) -> None:
    table = invoke("runs", "list", "-n", "iris")
    assert table.exit_code == 0 and populated in table.output and "accuracy=0.97" in table.output
    data = json.loads(invoke("runs", "list", "--json", "--filter", "metrics.accuracy > 0.9").output)
    assert [r["info"]["run_id"] for r in data] == [populated]
    assert data[0]["data"]["metrics"]["nan"] == "nan"
    shown = invoke("runs", "show", populated)
    assert "FINISHED" in shown.output and "accuracy" in shown.output
    assert json.loads(invoke("runs", "show", populated, "--json").output)["data"]["params"] == {
        "n": "10"
    }


def test_models_workflow(populated: str, make_model_dir: MakeModelDir) -> None:
    registered = invoke("models", "register", str(make_model_dir()), "iris", "--tag", "k=v")
    assert registered.exit_code == 0 and "version 2" in registered.output
    assert invoke("models", "transition", "iris", "1", "production").exit_code == 0
    moved = invoke(
        "models", "transition", "iris", "2", "Production", "--archive-existing", "--json"
    )
    assert json.loads(moved.output)["current_stage"] == "Production"
    assert Client().get_model_version("iris", 1).current_stage == "Archived"
    assert invoke("models", "set-alias", "iris", "champion", "2").exit_code == 0
    listed = invoke("models", "list")
    assert "iris" in listed.output and "champion->2" in listed.output
    versions = json.loads(invoke("models", "versions", "iris", "--json").output)
    assert [(v["version"], v["current_stage"]) for v in versions] == [
        (1, "Archived"),
        (2, "Production"),
    ]
    assert versions[1]["tags"] == {"k": "v"} and versions[1]["aliases"] == ["champion"]
    assert "Production" in invoke("models", "show", "iris").output
    assert invoke("models", "delete-alias", "iris", "champion").exit_code == 0
    assert json.loads(invoke("models", "show", "iris", "--json").output)["aliases"] == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "show", "ghost"], "'ghost' does not exist"),
        (["models", "versions", "ghost"], "'ghost' does not exist"),
        (["models", "transition", "iris", "9", "Staging"], "no version 9"),
        (["models", "transition", "iris", "1", "Prod"], "stage must be one of"),
        (["models", "set-alias", "iris", "latest", "1"], "reserved"),
        (["models", "register", "/no/such/dir", "iris"], "no model directory"),
        (["models", "register", "models:/iris", "x"], "model URI must look like"),
        (["models", "register", ".", "a/b"], "must not contain '/'"),
        (["runs", "show", "nope"], "run id must be 32"),
        (["runs", "list", "--filter", "metrics.a < 'x'"], "expected a number"),
        (["runs", "list", "-n", "ghost"], "no experiment named 'ghost'"),
    ],
)
def test_errors_are_one_line_exit_1(populated: str, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ") and message in result.output
    assert "Traceback" not in result.output


def test_console_script_against_a_directory_store(
    tmp_path: Path, make_model_dir: MakeModelDir
) -> None:
    store = tmp_path / "store"
    env_uri = ["--tracking-uri", str(store)]
    code = "from modelpack.cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", code, "models", "register", str(make_model_dir()), "m", *env_uri],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    listed = subprocess.run(
        [sys.executable, "-c", code, "models", "list", "--json", *env_uri],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [m["name"] for m in json.loads(listed.stdout)] == ["m"]
    assert (store / "modelpack.db").is_file()


def test_a_bad_stage_is_named_in_the_error(tmp_path) -> None:
    from click.testing import CliRunner

    from modelpack.cli import cli

    result = CliRunner().invoke(
        cli, ["models", "transition", "m", "1", "Bogus", "--tracking-uri", str(tmp_path / "s")]
    )
    assert result.exit_code == 1
    assert "stage must be one of None, Staging, Production, Archived, got 'Bogus'" in result.output
