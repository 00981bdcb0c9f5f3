"""``modelpack build-docker`` and ``modelpack generate-dockerfile``."""

from __future__ import annotations

from pathlib import Path

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
def generate_dockerfile(model_uri: str, directory: Path, port: int) -> None:
    """Write a self-contained Docker build context for a model version.

    The context holds the model directory, its pinned requirements, modelpack as
    a wheel built from this installation, and the Dockerfile.

    \b
    Example:
      modelpack generate-dockerfile -m models:/iris/3 -d iris-ctx
      docker build -t iris:3 iris-ctx
    """
    from modelpack.serving.container.docker import generate_build_context

    context = generate_build_context(model_uri, directory, port=port)
    click.echo(
        f"wrote build context for {context.model_name} version {context.model_version} "
        f"(python {context.python_version}) to '{context.directory}'",
        err=True,
    )


@click.command("build-docker", epilog=_EXIT_CODES)
@click.option("-m", "--model-uri", required=True, help="Model path or URI (models:/name/1, ...).")
@click.option("-n", "--name", "tag", required=True, help="Image name and tag, e.g. iris:3.")
@_port
def build_docker(model_uri: str, tag: str, port: int) -> None:
    """Build a container image that serves a model version.

    The image runs `modelpack serve` on 0.0.0.0 as a non-root user, with a health
    check on /health; set MODELPACK_SERVE_WORKERS at run time for more workers.

    \b
    Example:
      modelpack build-docker -m models:/iris@champion -n iris:champion
      docker run -p 8080:8080 -e MODELPACK_SERVE_WORKERS=2 iris:champion
    """
    from modelpack.serving.container.docker import build_image

    context = build_image(model_uri, tag, port=port)
    click.echo(f"built image '{tag}' for {context.model_name} {context.model_version}", err=True)


__all__ = ["build_docker", "generate_dockerfile"]
