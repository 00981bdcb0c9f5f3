"""``modelpack serve``: the command-line boundary of the scoring server.

Every option comes from a :class:`ServeConfig` field, as ``--flag-name`` or the
``MODELPACK_SERVE_FLAG_NAME`` environment variable.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from modelpack.errors import EnvironmentBuildError
from modelpack.serving.http.config import ServeConfig, env_var, option_fields, to_argv


def _with_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for name, typ, default, help_text in reversed(option_fields()):
        flag = "--" + name.replace("_", "-")
        envvar = env_var(name)
        if name == "model_uri":
            option = click.option(
                "-m", flag, name, required=True, envvar=envvar, help=f"{help_text} [env {envvar}]"
            )
        elif typ is bool:
            option = click.option(
                f"{flag}/--no-{flag[2:]}",
                name,
                default=default,
                envvar=envvar,
                show_default=True,
                help=f"{help_text} [env {envvar}]",
            )
        else:
            kind: Any = typ
            if name == "env_manager":
                kind = click.Choice(["local", "virtualenv"])
            option = click.option(
                flag,
                name,
                type=kind,
                default=default,
                envvar=envvar,
                show_default=True,
                help=f"{help_text} [env {envvar}]",
            )
        command = option(command)
    return command


@click.command("serve")
@_with_options
def serve(**options: Any) -> None:
    """Serve a model over HTTP: MLflow's /invocations, the Open Inference Protocol, /metrics.

    \b
    modelpack serve -m models:/iris@champion --port 8080 --workers 4 --watch
    """
    config = ServeConfig(**options)
    if config.env_manager == "virtualenv":
        _reexec_in_virtualenv(config)
    from modelpack.serving.http.server import run

    run(config)


def _reexec_in_virtualenv(config: ServeConfig) -> None:
    """Replace this process with ``serve --env-manager local`` in the model's own environment."""
    try:
        from modelpack.serving.envs.virtualenv import python_for_model
    except ImportError:
        raise EnvironmentBuildError(
            "--env-manager virtualenv is unavailable in this installation "
            "(modelpack.serving.envs.virtualenv is missing); use --env-manager local"
        ) from None
    from modelpack.serving.envs.virtualenv import cli_command
    from modelpack.serving.http.model_state import identify

    python = os.fspath(python_for_model(identify(config.model_uri).path))
    argv = to_argv(dataclasses.replace(config, env_manager="local"))
    sys.stdout.flush()
    sys.stderr.flush()
    # cli_command runs python isolated (-I), so a checkout in the working directory
    # cannot shadow the modelpack installed in the model's environment.
    os.execv(python, [*cli_command(python), "serve", *argv])


__all__ = ["serve"]
