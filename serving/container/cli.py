"""``modelpack build-docker`` and ``modelpack generate-dockerfile``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

_EXIT_CODES = """\b
Exit codes:
  0    done
  1    error (model not found, environment or build failure, no Docker
       engine); nothing partial is left behind
  2    wrong usage (unknown or invalid option)
  130  interrupted
"""

_port = click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8080,
    show_default=True,
    help="Port the image serves on (EXPOSE, and MODELPACK_SERVE_PORT at run time).",
)


def _image_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--base-image, --template and --lock/--no-lock, shared by both commands."""
    options = [
        click.option(
            "--base-image",
            default=None,
            help="Image to build FROM, e.g. python:3.11-slim-bookworm or name@sha256:...; "
            "default: python:<the model's Python>-slim.",
        ),
        click.option(
            "--template",
            type=click.Path(path_type=Path, dir_okay=False),
            default=None,
            help="Dockerfile template to render instead of the packaged Dockerfile.template "
            "(same {{placeholders}}).",
        ),
        click.option(
            "--lock/--no-lock",
            default=True,
            show_default=True,
            help="Pin every transitive dependency in requirements.txt, resolved now with "
            "pip, so every build installs the same packages. --no-lock keeps the model's "
            "own pins and lets each build resolve the rest.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("generate-dockerfile", epilog=_EXIT_CODES)
@click.option("-m", "--model-uri", required=True, help="Model path or URI (models:/name/1, ...).")
@click.option(
    "-d",
    "--output-directory",
    "directory",
    required=True,
    type=click.Path(path_type=Path),
    help="Directory to create for the build context (must not exist or be empty).",
)
@_port
@_image_options
def generate_dockerfile(
    model_uri: str,
    directory: Path,
    port: int,
    base_image: str | None,
    template: Path | None,
    lock: bool,
) -> None:
    """Write a self-contained Docker build context for a model version.

    The context holds the model directory, its requirements locked with every
    transitive dependency, modelpack (and any third-party flavor package the model
    needs) as wheels, and the Dockerfile. The image serves the model under the
    registry's name and version.

    \b
    Example:
      modelpack generate-dockerfile -m models:/iris/3 -d iris-ctx
      docker build -t iris:3 iris-ctx
    """
    from modelpack.serving.container.docker import generate_build_context

    context = generate_build_context(
        model_uri, directory, port=port, base_image=base_image, template=template, lock=lock
    )
    click.echo(
        f"wrote build context for {context.model_name} version {context.model_version} "
        f"(python {context.python_version}) to '{context.directory}'",
        err=True,
    )


@click.command("build-docker", epilog=_EXIT_CODES)
@click.option("-m", "--model-uri", required=True, help="Model path or URI (models:/name/1, ...).")
@click.option("-n", "--name", "tag", required=True, help="Image name and tag, e.g. iris:3.")
@_port
@click.option(
    "--network",
    default=None,
    help="Network for the RUN steps of the build (passed as docker build --network), "
    "e.g. host to reach a package index on this machine.",
)
@_image_options
def build_docker(
    model_uri: str,
    tag: str,
    port: int,
    network: str | None,
    base_image: str | None,
    template: Path | None,
    lock: bool,
) -> None:
    """Build a container image that serves a model version.

    The image runs `modelpack serve` on 0.0.0.0 as a non-root user, with a health
    check on /health; set MODELPACK_SERVE_WORKERS at run time for more workers.

    \b
    Example:
      modelpack build-docker -m models:/iris@champion -n iris:champion
      docker run -p 8080:8080 -e MODELPACK_SERVE_WORKERS=2 iris:champion
    """
    from modelpack.serving.container.docker_build import build_image

    context = build_image(
        model_uri,
        tag,
        port=port,
        network=network,
        base_image=base_image,
        template=template,
        lock=lock,
    )
    click.echo(f"built image '{tag}' for {context.model_name} {context.model_version}", err=True)


__all__ = ["build_docker", "generate_dockerfile"]
