"""``modelpack serve`` options: one ServeConfig field each, from a flag or MODELPACK_SERVE_*."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from modelpack.cli import cli
from modelpack.errors import InvalidInput
from modelpack.serving.http.config import ServeConfig, env_var, option_fields, to_argv


def test_every_option_has_a_flag_and_an_environment_variable() -> None:
    help_text = CliRunner().invoke(cli, ["serve", "--help"]).output
    for name, _, _, _ in option_fields():
        assert "--" + name.replace("_", "-") in help_text
        assert env_var(name) in help_text


def test_bad_values_are_an_error_line_not_a_traceback() -> None:
    result = CliRunner().invoke(
        cli, ["serve", "-m", "some/model"], env={"MODELPACK_SERVE_WORKERS": "0"}
    )
    assert result.exit_code == 1
    assert "error: workers must be at least 1" in result.output
    assert "Traceback" not in result.output


def test_config_survives_the_argv_round_trip_used_to_re_exec(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = ServeConfig(model_uri="models:/iris@champion", port=8080, watch=True, timeout=2.5)
    seen: list[ServeConfig] = []
    import modelpack.serving.http.server as server

    monkeypatch.setattr(server, "run", seen.append)
    result = CliRunner().invoke(cli, ["serve", *to_argv(config)])
    assert result.exit_code == 0, result.output
    assert seen == [config]


@pytest.mark.parametrize(
    "change", [{"port": 70000}, {"max_queue": 0}, {"env_manager": "conda"}, {"timeout": 0}]
)
def test_config_validates_at_the_edge(change: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        dataclasses.replace(ServeConfig(model_uri="m"), **change)


def test_virtualenv_re_executes_serve_with_the_models_python(
    monkeypatch: pytest.MonkeyPatch, iris_model: object
) -> None:
    import os
    import sys

    import modelpack.serving.envs.virtualenv as envs

    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(envs, "python_for_model", lambda model_dir: sys.executable)
    monkeypatch.setattr(os, "execv", lambda path, argv: calls.append((path, argv)))
    import modelpack.serving.http.server as server

    monkeypatch.setattr(server, "run", lambda config: None)
    result = CliRunner().invoke(
        cli, ["serve", "-m", str(iris_model), "--env-manager", "virtualenv", "--port", "6000"]
    )
    assert result.exit_code == 0, result.output
    ((path, argv),) = calls
    assert path == sys.executable
    rebuilt = argv[argv.index("-c") + 2 :]
    assert rebuilt[rebuilt.index("--env-manager") + 1] == "local"
    assert rebuilt[rebuilt.index("--port") + 1] == "6000"
