"""Container images per model version: a self-contained build context.

The context holds everything the image needs and nothing from the network but the
pinned requirements: the model directory (a registry URI resolved to its version; only
regular files, see :mod:`.context_copy`), ``requirements.txt`` (the model's pins plus
modelpack's own dependencies, locked with every transitive dependency, see
:mod:`.context_lock`), modelpack and any third-party flavor package as wheels, and the
Dockerfile rendered from ``Dockerfile.template`` (or the user's template). The image
serves the model under the registry's name and version. ``docker build`` itself is in
:mod:`.docker_build`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import shutil
import stat
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from modelpack.errors import EnvironmentBuildError, InvalidInput

CONTEXT_INFO_FILE = "modelpack-context.json"
DEFAULT_PORT = 8080
MODEL_PATH = "/opt/modelpack/model"
_TEMPLATE_MAX_BYTES = 64 * 1024
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._@:/+-]")
#: Docker's image reference grammar, simplified: lowercase path components, optional tag.
IMAGE_REFERENCE = re.compile(
    r"[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
)
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}")


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
    base_image: str = ""
    locked: bool = False
    flavor_wheels: tuple[str, ...] = ()

    def to_json(self) -> str:
        data = asdict(self)
        data["directory"] = str(self.directory)
        data["flavor_wheels"] = list(self.flavor_wheels)
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


def read_template(path: Path) -> str:
    """The text of a user's Dockerfile template: a regular UTF-8 file of at most 64 KiB."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(
                f"template '{path}' is not a regular file; pass a Dockerfile template"
            )
        if info.st_size > _TEMPLATE_MAX_BYTES:
            raise InvalidInput(
                f"template '{path}' has {info.st_size} bytes; at most {_TEMPLATE_MAX_BYTES} "
                "are accepted"
            )
        with path.open("rb") as handle:
            raw = handle.read(_TEMPLATE_MAX_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read template '{path}': {exc.strerror}") from None
    try:
        return raw[:_TEMPLATE_MAX_BYTES].decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"template '{path}' is not UTF-8 text") from None


def render_dockerfile(
    values: dict[str, str], template: str | None = None, *, source: str = "Dockerfile.template"
) -> str:
    """Fill every ``{{name}}`` in the template; an unknown placeholder is an error.

    >>> render_dockerfile({"v": "3.11"}, "FROM python:{{v}}-slim")
    'FROM python:3.11-slim'
    """
    text = template if template is not None else template_text()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            known = ", ".join(sorted(values))
            raise EnvironmentBuildError(
                f"{source} uses an unknown value '{name[:40]}'; the known ones are: {known}"
            )
        value = values[name]
        if "\n" in value or "\r" in value:
            raise InvalidInput(f"value for '{name}' must be one line")
        return value

    return _PLACEHOLDER.sub(fill, text)


def check_base_image(image: str) -> str:
    """Return ``image`` if it is an image reference (``name[:tag][@sha256:digest]``)."""
    name, at, digest = image.partition("@")
    if (
        len(image) > 255
        or not IMAGE_REFERENCE.fullmatch(name)
        or (at and not _DIGEST.fullmatch(at + digest))
    ):
        raise InvalidInput(
            "base image must look like 'python:3.11-slim', 'registry/name:tag' or "
            "'name@sha256:<64 hex digits>' (lowercase name; letters, digits, '.', '_', '-')"
        )
    return image


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


def _entrypoint(name: str, version: str) -> str:
    """The image's command as a JSON exec array: the model served under the registry's
    name and version (JSON escaping keeps any name exact and on one line)."""
    argv = ["modelpack", "serve", "-m", MODEL_PATH, "--model-name", name]
    if version != "unversioned":
        argv += ["--model-version", version]
    return json.dumps(argv)


def generate_build_context(
    model_uri: str,
    directory: Path,
    *,
    port: int = DEFAULT_PORT,
    wheel_cache: Path | None = None,
    base_image: str | None = None,
    template: Path | None = None,
    lock: bool = True,
) -> BuildContext:
    """Write a self-contained Docker build context for ``model_uri`` into ``directory``.

    The directory must not exist or be empty; it appears complete or not at all, and a
    failed run removes the parent directories it created. ``base_image`` replaces
    ``python:<model's python>-slim``, ``template`` the packaged ``Dockerfile.template``;
    ``lock=False`` leaves transitive dependencies to be resolved by each build.

    >>> generate_build_context("models:/iris@champion", Path("ctx"))  # doctest: +SKIP
    """
    from modelpack import __version__
    from modelpack.model_dir import verify_model_dir
    from modelpack.serving.container.context_copy import check_model_tree, copy_model_tree
    from modelpack.serving.container.context_flavors import flavor_packages
    from modelpack.serving.envs.spec import read_env_spec
    from modelpack.serving.envs.virtualenv import env_cache_dir
    from modelpack.serving.envs.wheel import modelpack_wheel

    if not 1 <= port <= 65535:
        raise InvalidInput(f"port must be 1-65535, got {port}")
    if base_image is not None:
        check_base_image(base_image)
    text = read_template(Path(template)) if template is not None else template_text()
    source = str(template) if template is not None else "Dockerfile.template"
    target = _check_target(directory)
    # Everything that can fail on the model is done before anything is created.
    model_dir, name, version = _locate(model_uri)
    mlmodel = verify_model_dir(model_dir)
    check_model_tree(model_dir)
    spec = read_env_spec(model_dir)
    wheel = modelpack_wheel(wheel_cache or env_cache_dir() / "wheels")
    with tempfile.TemporaryDirectory(prefix="modelpack-flavors-") as built:
        flavors = flavor_packages(mlmodel, Path(built))
        wheels = [wheel, *flavors.wheels]
        requirements = _requirements(model_dir, flavors.requirements, wheels, lock)
        image = base_image or f"python:{spec.python}-slim"
        values = {
            "base_image": image,
            "model_name": _label(name),
            "model_version": _label(version),
            "model_uuid": _label(str(mlmodel.get("model_uuid") or "")),
            "modelpack_version": _label(__version__),
            "python_version": spec.python,
            "wheel_name": wheel.name,
            "port": str(port),
            "entrypoint": _entrypoint(name, version),
        }
        dockerfile = render_dockerfile(values, text, source=source)
        info = BuildContext(
            target,
            model_uri,
            name,
            version,
            spec.python,
            wheel.name,
            port,
            image,
            lock,
            tuple(w.name for w in flavors.wheels),
        )

        def fill(staging: Path) -> None:
            copy_model_tree(model_dir, staging / "model")
            verify_model_dir(staging / "model")
            (staging / "wheels").mkdir()
            for each in wheels:
                shutil.copy(each, staging / "wheels" / each.name)
            (staging / "requirements.txt").write_text("".join(f"{r}\n" for r in requirements))
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


def _requirements(
    model_dir: Path, flavor_pins: tuple[str, ...], wheels: list[Path], lock: bool
) -> list[str]:
    """The lines of the context's ``requirements.txt``.

    Unlocked: the model's pins, modelpack's dependencies pinned to what runs here, the
    flavor packages' pins. Locked: all that, with every transitive dependency, or (when
    pip finds those pins conflict, as a model saved elsewhere may) the model's own pins
    with modelpack's declared ranges, resolved the same way."""
    from modelpack.serving.container.context_lock import lock_first
    from modelpack.serving.envs.spec import read_env_spec, read_model_requirements
    from modelpack.serving.envs.virtualenv import env_cache_dir

    spec = read_env_spec(model_dir)
    here = [*spec.requirements, *flavor_pins]
    if not lock:
        return here
    declared = [*read_model_requirements(model_dir)[1], *flavor_pins]
    candidates = [here] if declared == here else [here, declared]
    locked: list[str] = lock_first(candidates, wheels, spec.python, env_cache_dir() / "locks")
    return locked


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


__all__ = [
    "CONTEXT_INFO_FILE",
    "DEFAULT_PORT",
    "IMAGE_REFERENCE",
    "BuildContext",
    "check_base_image",
    "generate_build_context",
    "read_template",
    "render_dockerfile",
    "template_text",
]
