"""Container images per model version: a self-contained build context, then ``docker build``.

The context holds everything the image needs and nothing from the network but the
pinned requirements: the model directory (a registry URI resolved to its version),
``requirements.txt`` (the model's pins plus modelpack's own dependencies pinned to
what is installed here), modelpack as a wheel built from this checkout, and the
Dockerfile rendered from ``Dockerfile.template``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable
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
        return (
            resources.files("modelpack.serving.container")
            .joinpath("Dockerfile.template")
            .read_text()
        )
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

    The directory must not exist or be empty; it appears complete or not at all, and a
    failed run removes the parent directories it created.

    >>> generate_build_context("models:/iris@champion", Path("ctx"))  # doctest: +SKIP
    """
    from modelpack import __version__
    from modelpack.model_dir import verify_model_dir
    from modelpack.serving.envs.virtualenv import env_cache_dir, read_env_spec
    from modelpack.serving.envs.wheel import modelpack_wheel

    if not 1 <= port <= 65535:
        raise InvalidInput(f"port must be 1-65535, got {port}")
    target = _check_target(directory)
    # Everything that can fail on the model is done before anything is created.
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

    def fill(staging: Path) -> None:
        shutil.copytree(model_dir, staging / "model")
        verify_model_dir(staging / "model")
        (staging / "wheels").mkdir()
        shutil.copy(wheel, staging / "wheels" / wheel.name)
        (staging / "requirements.txt").write_text("".join(f"{r}\n" for r in spec.requirements))
        (staging / "Dockerfile").write_text(dockerfile)
        (staging / CONTEXT_INFO_FILE).write_text(info.to_json())

    created = _make_parents(target)
    try:
        if target.exists():
            _fill_in_place(target, fill)
        else:
            _fill_and_rename(target, fill)
    except OSError as exc:
        _remove_dirs(created)
        reason = exc.strerror or (
            "some files of the model directory cannot be copied; "
            "check that each is a readable regular file"
        )
        raise InvalidInput(f"cannot write the build context '{target}': {reason}") from None
    except BaseException:
        _remove_dirs(created)
        raise
    return info


def _check_target(directory: Path) -> Path:
    """``directory`` as an absolute path, if it is missing or an empty directory.

    Resolved first: ``.`` or ``..`` has no name to build a sibling from, and the
    messages should say which directory was meant."""
    target = Path(directory).expanduser().resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInput(f"'{target}' already exists and is not an empty directory")
    return target


def _make_parents(target: Path) -> list[Path]:
    """Create ``target``'s missing parents; return the ones created, outermost first, so
    a failed run can remove them again."""
    missing = list(itertools.takewhile(lambda p: not p.exists(), target.parents))
    created: list[Path] = []
    for parent in reversed(missing):
        try:
            parent.mkdir()
        except FileExistsError:
            continue  # made meanwhile by someone else: not ours to remove
        except OSError as exc:
            _remove_dirs(created)
            raise InvalidInput(f"cannot create '{parent}': {exc.strerror}") from None
        created.append(parent)
    return created


def _remove_dirs(created: list[Path]) -> None:
    """Remove directories this run created, innermost first; one that is no longer empty
    holds someone else's files and stays."""
    for directory in reversed(created):
        with contextlib.suppress(OSError):
            directory.rmdir()


def _fill_and_rename(target: Path, fill: Callable[[Path], None]) -> None:
    """Fill a sibling of the missing ``target`` and rename it into place: atomic."""
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        tmp.mkdir()
        fill(tmp)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fill_in_place(target: Path, fill: Callable[[Path], None]) -> None:
    """Fill a staging directory inside the empty ``target``, then move its entries up.

    The directory itself is kept, not replaced: it may be the user's working directory
    (``-d .``), and its parent need not be writable. On failure every moved entry is
    removed again, so ``target`` is left empty."""
    staging = target / f".modelpack-tmp-{uuid.uuid4().hex[:12]}"
    moved: list[Path] = []
    try:
        staging.mkdir()
        fill(staging)
        for entry in sorted(staging.iterdir()):
            entry.rename(target / entry.name)
            moved.append(target / entry.name)
        staging.rmdir()
    except BaseException:
        for path in moved:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        raise


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
