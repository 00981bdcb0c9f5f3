"""What an environment is built from: a model's Python version and requirements.

Read from the model's ``python_env.yaml`` and the requirements file it names (never
through a link or a FIFO), checked line by line, and completed with modelpack's own
runtime dependencies pinned to what is installed here, so that a virtualenv and a
container image built for one model version install the same packages.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from modelpack.errors import InvalidInput, ModelFormatError


@dataclass(frozen=True)
class EnvSpec:
    """What an environment is built from: a Python version and checked pip lines.

    ``requirements`` are the model's pins plus modelpack's own dependencies pinned to
    what is installed here (:func:`pinned_requirements`), the same list a Docker build
    context carries, so an image and a local environment resolve alike.
    ``python_env.yaml``'s ``build_dependencies`` (pip, setuptools, wheel) are left to
    virtualenv: requirements are installed from wheels, nothing is built.

    >>> spec = read_env_spec(Path("models/iris"))  # doctest: +SKIP
    >>> spec.python, spec.requirements[:1]  # doctest: +SKIP
    ('3.11', ('scikit-learn==1.9.1',))
    """

    python: str  # major.minor
    requirements: tuple[str, ...]

    def key(self, modelpack_version: str) -> str:
        """The cache key: a hash of everything that decides the environment's contents."""
        payload = json.dumps([self.python, self.requirements, modelpack_version])
        return hashlib.sha256(payload.encode()).hexdigest()[:24]


def read_env_spec(model_dir: Path) -> EnvSpec:
    """Read and check ``python_env.yaml`` and the requirements file it names."""
    python, requirements = read_model_requirements(model_dir)
    return EnvSpec(python, tuple(pinned_requirements(requirements)))


def read_model_requirements(model_dir: Path) -> tuple[str, list[str]]:
    """The Python version (major.minor) and the model's own checked requirements, as
    ``python_env.yaml`` and the requirements file it names give them."""
    from modelpack.environment import PYTHON_ENV_FILE, REQUIREMENTS_FILE, check_requirement
    from modelpack.model_dir import model_file
    from modelpack.model_files import open_regular

    env_file = model_dir / PYTHON_ENV_FILE
    try:
        import yaml

        if not os.path.lexists(env_file):
            raise FileNotFoundError(PYTHON_ENV_FILE)
        with open_regular(env_file, PYTHON_ENV_FILE) as handle:  # never a link or a FIFO
            raw = yaml.safe_load(handle.read().decode("utf-8"))
    except FileNotFoundError:
        raw = {"python": current_python(), "dependencies": [f"-r {REQUIREMENTS_FILE}"]}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        raise ModelFormatError(f"{PYTHON_ENV_FILE} in '{model_dir}' cannot be read") from None
    if not isinstance(raw, dict):
        raise ModelFormatError(f"{PYTHON_ENV_FILE} in '{model_dir}' must be a mapping")
    python = _major_minor(str(raw.get("python") or current_python()))
    requirements: list[str] = []
    for line in raw.get("dependencies") or []:
        line = check_requirement(line)
        if line.startswith(("-r ", "--requirement ")):
            path = model_file(model_dir, line.split(" ", 1)[1], what=PYTHON_ENV_FILE)
            requirements.extend(_read_requirements(path))
        elif line.startswith("-"):
            raise InvalidInput(f"{PYTHON_ENV_FILE}: pip option '{line}' is not supported")
        else:
            requirements.append(line)
    return python, requirements


def pinned_requirements(model_requirements: list[str] | tuple[str, ...]) -> list[str]:
    """The model's requirements plus modelpack's runtime dependencies, pinned to the
    versions installed here (a name the model already lists is left as the model has it).

    >>> pinned_requirements(["scikit-learn==1.9.1"])[:2]  # doctest: +SKIP
    ['scikit-learn==1.9.1', 'numpy==2.4.6']
    """
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    named = set()
    for line in model_requirements:
        if not line.startswith("-"):
            named.add(canonicalize_name(Requirement(line).name))
    out = list(model_requirements)
    for spec in metadata.requires("modelpack") or []:
        requirement = Requirement(spec)
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in named:
            continue
        named.add(name)
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        try:
            out.append(f"{requirement.name}{extras}=={metadata.version(requirement.name)}")
        except metadata.PackageNotFoundError:
            out.append(str(requirement))
    return out


def _read_requirements(path: Path) -> list[str]:
    from modelpack.environment import check_requirement

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ModelFormatError(f"cannot read '{path.name}': {exc.strerror}") from None
    out = []
    for line in lines:
        text = line.split(" #", 1)[0].strip()
        if not text or text.startswith("#"):
            continue
        text = check_requirement(text)
        if text.startswith(("-r", "-c", "-e", "--requirement", "--constraint", "--editable")):
            raise InvalidInput(
                f"{path.name}: '{text.split()[0]}' lines are not supported; list requirements"
            )
        out.append(text)
    return out


def _major_minor(version: str) -> str:
    match = re.fullmatch(r"(\d+)\.(\d+)(\.\d+)?\S*", version.strip())
    if not match:
        raise ModelFormatError(f"python version '{version[:40]}' is not like '3.11' or '3.11.7'")
    return f"{match.group(1)}.{match.group(2)}"


def current_python() -> str:
    """This interpreter's major.minor version, as ``python_env.yaml`` writes it."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


__all__ = [
    "EnvSpec",
    "current_python",
    "pinned_requirements",
    "read_env_spec",
    "read_model_requirements",
]
