"""The ``modelpack`` command: the one composition root.

Each sub-command lives beside the library code it drives and is imported only when
it runs, so ``modelpack --help`` stays fast. Errors a user can cause become
``error: <message>`` with a documented exit code, never a traceback.

Exit codes: 0 success; 1 a modelpack error (bad input, missing model, failed
prediction); 2 wrong usage (unknown option or command); 130 interrupted.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from modelpack import __version__
from modelpack.errors import ModelpackError

# command name -> "module:attribute" of a click command or group
_COMMANDS: dict[str, str] = {
    "experiments": "modelpack.tracking.cli:experiments",
    "runs": "modelpack.tracking.cli:runs",
    "models": "modelpack.tracking.cli:models",
    "serve": "modelpack.serving.http.cli:serve",
    "server": "modelpack.server.cli:server",
    "predict": "modelpack.serving.batch.cli:predict",
    "build-docker": "modelpack.serving.container.cli:build_docker",
    "generate-dockerfile": "modelpack.serving.container.cli:generate_dockerfile",
    "flavors": "modelpack.cli:flavors",
    "evaluate": "modelpack.evaluation.cli:evaluate_command",
    "db": "modelpack.tracking.stores.sql.cli:db",
    "ui": "modelpack.ui.cli:ui",
}

_HELP = {
    "experiments": "List experiments in the tracking store.",
    "runs": "List and show runs.",
    "models": "Registered models: list, show, register, transition, aliases; "
    "and serve, predict, build-docker, generate-dockerfile as MLflow spells them.",
    "serve": "Serve a model over HTTP (MLflow scoring protocol + Open Inference Protocol).",
    "server": "Run a tracking server speaking MLflow's REST API, with users and tokens.",
    "predict": "Score parquet, CSV or JSON-lines files with a model, in streamed batches.",
    "build-docker": "Build a container image that serves a model version.",
    "generate-dockerfile": "Write a self-contained Docker build context for a model version.",
    "flavors": "List the installed flavor plugins.",
    "evaluate": "Evaluate a candidate model against a baseline and gate on the result.",
    "db": "Tracking store database: migrate its schema (db upgrade URI).",
    "ui": "Browse runs, metric charts, artifacts and the model registry in a web browser.",
}


#: ``mlflow models serve|predict|...`` spellings: ``modelpack models serve`` is ``modelpack serve``
_MODELS_ALIASES = ("build-docker", "generate-dockerfile", "predict", "serve")


def _load_command(cmd_name: str) -> click.Command | None:
    target = _COMMANDS.get(cmd_name)
    if target is None:
        return None
    module_name, attr = target.split(":")
    try:
        command: click.Command = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise click.ClickException(f"command '{cmd_name}' is unavailable: {exc}") from exc
    return command


class _ModelsGroup(click.Group):
    """``modelpack models``: the registry commands, plus the top-level model commands
    under the names MLflow users type (``mlflow models serve`` -> ``modelpack models serve``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_MODELS_ALIASES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _MODELS_ALIASES:
            return _load_command(cmd_name)
        return super().get_command(ctx, cmd_name)


def _with_model_aliases(group: click.Group) -> click.Group:
    return _ModelsGroup(
        name=group.name,
        commands=group.commands,
        callback=group.callback,
        params=group.params,
        help=group.help,
        short_help=group.short_help,
        context_settings=group.context_settings,
    )


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = _load_command(cmd_name)
        if cmd_name == "models" and isinstance(command, click.Group):
            return _with_model_aliases(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, _HELP[name]) for name in sorted(_COMMANDS)])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ModelpackError as exc:
            click.echo(f"error: {exc.message}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="modelpack")
def cli() -> None:
    """Package trained models, enforce their signatures, and serve them.

    Models are named by URI: a path, runs:/<run_id>/<path>, models:/<name>/<version>,
    models:/<name>/<stage>, models:/<name>@<alias>. The tracking store is chosen by
    MODELPACK_TRACKING_URI (default: ./modelpack-store).
    """


@click.command()
def flavors() -> None:
    """List the installed flavor plugins."""
    from modelpack.plugins import installed_flavors

    for name in installed_flavors():
        click.echo(name)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``modelpack`` console script."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="modelpack")


__all__ = ["cli", "main"]
