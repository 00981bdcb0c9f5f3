"""Container images per model version: a self-contained build context, then ``docker build``.

The context holds everything the image needs and nothing from the network but the
pinned requirements: the model directory (a registry URI resolved to its version),
``requirements.txt`` (the model's pins plus modelpack's own dependencies pinned to
what is installed here), modelpack as a wheel built from this checkout, and the
Dockerfile rendered from ``Dockerfile.template``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import uuid
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from modelpack.errors import EnvironmentBuildError, InvalidInput

CONTEXT_INFO_FILE = "modelpack-context.json"
DEFAULT_PORT = 8080
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._@:/+-]")
# Docker's image reference grammar, simplified: lowercase path components, optional tag.
_IMAGE_TAG = re.compile(
    r"^[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"
)


@dataclass(frozen=True)
class BuildContext:
    """A rendered build context and what it was made from.

    >>> ctx = generate_build_context("models:/iris/3", Path("iris-ctx"))  # doctest: +SKIP
    >>> ctx.model_version, ctx.python_version  # doctest: +SKIP
    ('3', '3.11')
    """

    directory: Path
    model_uri: str
    model_name: str
    model_version: str
    python_version: str
    wheel: str
    port: int

    def to_json(self) -> str:
        data = asdict(self)
        data["directory"] = str(self.directory)
        return json.dumps(data, indent=2)


def template_text() -> str:
    """The text of ``Dockerfile.template`` shipped inside the package."""
    try:
        return resources.files("modelpack.serving").joinpath("Dockerfile.template").read_text()
    except (FileNotFoundError, OSError):
        raise EnvironmentBuildError(
            "Dockerfile.template is missing from the modelpack installation; reinstall modelpack"
        ) from None


def render_dockerfile(values: dict[str, str], template: str | None = None) -> str:
    """Fill every ``{{name}}`` in the template; an unknown placeholder is an error.

    >>> render_dockerfile({"v": "3.11"}, "FROM python:{{v}}-slim")
    'FROM python:3.11-slim'
    """
    text = template if template is not None else template_text()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise EnvironmentBuildError(f"Dockerfile.template uses an unknown value '{name}'")
        value = values[name]
        if "\n" in value or "\r" in value:
            raise InvalidInput(f"value for '{name}' must be one line")
        return value

    return _PLACEHOLDER.sub(fill, text)


def _label(value: str) -> str:
    return _LABEL_UNSAFE.sub("_", value)[:128] or "unnamed"


def _locate(model_uri: str) -> tuple[Path, str, str]:
    """(directory, name, version): the registry's version for ``models:/``, resolved once so
    the labels always name the version that is copied; else the directory's name."""
    if model_uri.startswith("models:"):
        from modelpack.tracking.resolve import resolve_models_uri

        name, version, model_dir = resolve_models_uri(model_uri)
        return model_dir, name, str(version)
    from modelpack.uris import resolve_model_uri

    model_dir = resolve_model_uri(model_uri)
    return model_dir, model_dir.name, "unversioned"


def generate_build_context(
    model_uri: str, directory: Path, *, port: int = DEFAULT_PORT, wheel_cache: Path | None = None
) -> BuildContext:
    """Write a self-contained Docker build context for ``model_uri`` into ``directory``.

    The directory must not exist or be empty; it appears complete or not at all.

    >>> generate_build_context("models:/iris@champion", Path("ctx"))  # doctest: +SKIP
    """
    from modelpack import __version__
    from modelpack.model_dir import verify_model_dir
    from modelpack.serving.envs import env_cache_dir, read_env_spec
    from modelpack.serving.wheel import modelpack_wheel

    if not 1 <= port <= 65535:
        raise InvalidInput(f"port must be 1-65535, got {port}")
    target = Path(directory).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput(f"'{target}' already exists and is not an empty directory")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create '{target.parent}': {exc.strerror}") from None
    model_dir, name, version = _locate(model_uri)
    mlmodel = verify_model_dir(model_dir)
    spec = read_env_spec(model_dir)
    wheel = modelpack_wheel(wheel_cache or env_cache_dir() / "wheels")
    values = {
        "model_name": _label(name),
        "model_version": _label(version),
        "model_uuid": _label(str(mlmodel.get("model_uuid") or "")),
        "modelpack_version": _label(__version__),
        "python_version": spec.python,
        "wheel_name": wheel.name,
        "port": str(port),
    }
    dockerfile = render_dockerfile(values)
    info = BuildContext(target, model_uri, name, version, spec.python, wheel.name, port)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        tmp.mkdir()
        shutil.copytree(model_dir, tmp / "model")
        verify_model_dir(tmp / "model")
        (tmp / "wheels").mkdir()
        shutil.copy(wheel, tmp / "wheels" / wheel.name)
        requirements = spec.requirements
        (tmp / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements))
        (tmp / "Dockerfile").write_text(dockerfile)
        (tmp / CONTEXT_INFO_FILE).write_text(info.to_json())
        if target.exists():
            target.rmdir()
        tmp.rename(target)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise InvalidInput(f"cannot write the build context '{target}': {exc.strerror}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return info


def check_image_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid image reference (``name[:tag]``), else raise."""
    if not _IMAGE_TAG.match(tag) or len(tag) > 255:
        raise InvalidInput(
            "image tag must look like 'name', 'name:tag' or 'registry/name:tag' "
            "(lowercase name; letters, digits, '.', '_', '-')"
        )
    return tag


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


def build_image(model_uri: str, tag: str, *, port: int = DEFAULT_PORT) -> BuildContext:
    """Render a build context for ``model_uri`` in a temporary directory and build ``tag``.

    >>> build_image("models:/iris/3", "iris:3")  # doctest: +SKIP
    """
    import tempfile

    check_image_tag(tag)
    client = docker_engine()
    with tempfile.TemporaryDirectory(prefix="modelpack-docker-") as tmp:
        context = generate_build_context(model_uri, Path(tmp) / "context", port=port)
        done = subprocess.run([client, "build", "-t", tag, str(context.directory)], check=False)
        if done.returncode != 0:
            raise EnvironmentBuildError(
                f"docker build failed (exit {done.returncode}); see its output above"
            )
    return context


__all__ = [
    "CONTEXT_INFO_FILE",
    "DEFAULT_PORT",
    "BuildContext",
    "build_image",
    "check_image_tag",
    "docker_engine",
    "generate_build_context",
    "render_dockerfile",
    "template_text",
]
