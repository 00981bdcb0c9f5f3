"""``docker build`` of a rendered context: the image tag, the build's network, the engine.

Nothing goes through a shell: the build is one argument list, made by
:func:`build_command` from checked values.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from modelpack.errors import EnvironmentBuildError, InvalidInput
from modelpack.serving.container.docker import (
    DEFAULT_PORT,
    IMAGE_REFERENCE,
    BuildContext,
    generate_build_context,
)

# Docker network names: a letter or digit first, then letters, digits, '_', '.', '-'.
_NETWORK = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def check_image_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid image reference (``name[:tag]``), else raise."""
    if not IMAGE_REFERENCE.fullmatch(tag) or len(tag) > 255:
        raise InvalidInput(
            "image tag must look like 'name', 'name:tag' or 'registry/name:tag' "
            "(lowercase name; letters, digits, '.', '_', '-')"
        )
    return tag


def check_network(network: str) -> str:
    """Return ``network`` if it can name a network for ``docker build --network``."""
    if not _NETWORK.fullmatch(network):
        raise InvalidInput(
            "network must be 'default', 'host', 'none' or the name of a Docker network "
            "(letters, digits, '_', '.', '-'; at most 128 characters)"
        )
    return network


def build_command(
    client: str, tag: str, context_dir: Path, *, network: str | None = None
) -> list[str]:
    """The ``docker build`` argument list for ``context_dir``.

    >>> build_command("docker", "iris:3", Path("ctx"), network="host")
    ['docker', 'build', '-t', 'iris:3', '--network', 'host', 'ctx']
    """
    argv = [client, "build", "-t", check_image_tag(tag)]
    if network is not None:
        argv += ["--network", check_network(network)]
    return [*argv, str(context_dir)]


def docker_engine() -> str:
    """The path of a ``docker`` client whose engine answers; a clear error otherwise."""
    client = shutil.which("docker")
    if client is None:
        raise EnvironmentBuildError(
            "no 'docker' command on PATH; install Docker, or run 'modelpack generate-dockerfile' "
            "and build the context elsewhere"
        )
    try:
        probe = subprocess.run(
            [client, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError("the Docker engine did not answer within 15 s") from None
    if probe.returncode != 0 or not probe.stdout.strip():
        raise EnvironmentBuildError(
            "no Docker engine is running (the docker client is installed but cannot reach a "
            "daemon); start Docker, or run 'modelpack generate-dockerfile' and build the "
            "context elsewhere"
        )
    return client


def build_image(
    model_uri: str,
    tag: str,
    *,
    port: int = DEFAULT_PORT,
    network: str | None = None,
    base_image: str | None = None,
    template: Path | None = None,
    lock: bool = True,
) -> BuildContext:
    """Render a build context for ``model_uri`` in a temporary directory and build ``tag``.

    >>> build_image("models:/iris/3", "iris:3", network="host")  # doctest: +SKIP
    """
    import tempfile

    check_image_tag(tag)
    if network is not None:
        check_network(network)
    client = docker_engine()
    with tempfile.TemporaryDirectory(prefix="modelpack-docker-") as tmp:
        context = generate_build_context(
            model_uri,
            Path(tmp) / "context",
            port=port,
            base_image=base_image,
            template=template,
            lock=lock,
        )
        argv = build_command(client, tag, context.directory, network=network)
        done = subprocess.run(argv, check=False)
        if done.returncode != 0:
            raise EnvironmentBuildError(
                f"docker build failed (exit {done.returncode}); see its output above"
            )
    return context


__all__ = ["build_command", "build_image", "check_image_tag", "check_network", "docker_engine"]
