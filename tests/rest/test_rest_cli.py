"""The ``modelpack models|runs|experiments`` commands against a tracking server, as typed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import modelpack
from tests.rest.servers import free_port


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "modelpack", *args]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=300, env=env or dict(os.environ)
    )


@pytest.mark.needs("registry", "artifacts")
def test_models_commands_through_the_server(tracking_server_url: str, tmp_path: Path) -> None:
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    x, y = load_iris(return_X_y=True, as_frame=True)
    with modelpack.start_run() as run:
        modelpack.sklearn.log_model(DecisionTreeClassifier().fit(x, y), name="tree")
    name = f"cli-{uuid.uuid4().hex[:8]}"
    source = f"runs:/{run.info.run_id}/tree"

    registered = _cli("models", "register", source, name, "--tag", "via=cli", "--json")
    assert registered.returncode == 0, registered.stderr
    assert json.loads(registered.stdout)["version"] == 1
    moved = _cli("models", "transition", name, "1", "production", "--json")
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)["current_stage"] == "Production"
    aliased = _cli("models", "set-alias", name, "champion", "1")
    assert aliased.returncode == 0, aliased.stderr
    shown = _cli("models", "show", name, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["aliases"] == {"champion": 1}
    versions = _cli("models", "versions", name)
    assert versions.returncode == 0 and "Production" in versions.stdout
    listed = _cli("models", "list", "--filter", f"name = '{name}'", "--json")
    assert [m["name"] for m in json.loads(listed.stdout)] == [name]
    removed = _cli("models", "delete-alias", name, "champion")
    assert removed.returncode == 0, removed.stderr
    runs = _cli("runs", "show", run.info.run_id, "--json")
    assert runs.returncode == 0 and json.loads(runs.stdout)["info"]["run_id"] == run.info.run_id


def test_cli_with_the_server_down_says_so_without_a_traceback() -> None:
    port = free_port()
    env = dict(os.environ, MODELPACK_TRACKING_URI=f"http://bob:hunter22@127.0.0.1:{port}")
    done = _cli("models", "list", env=env)
    assert done.returncode != 0
    assert f"127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
    assert "hunter22" not in done.stderr + done.stdout
