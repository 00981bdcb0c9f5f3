"""The environment a model needs: ``requirements.txt``, ``python_env.yaml``, ``conda.yaml``.

Requirements are pinned to the versions installed when the model is saved. A
requirement a user passes is parsed as a PEP 508 requirement first, so nothing that
is not one (a shell fragment, a URL with spaces) is ever written or later run.
"""

from __future__ import annotations

import platform
import re
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

from modelpack.errors import InvalidInput
from modelpack.types import JSONDict

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"

_BUILD_TOOLS = ("pip", "setuptools", "wheel")
_OPTION_LINE = re.compile(r"^--?[a-zA-Z][a-zA-Z-]*( [^\s;|&`$<>]+)?$")


def pinned(distribution: str) -> str:
    """``name==version`` of an installed distribution, or the bare name when absent.

    >>> pinned("numpy")  # doctest: +SKIP
    'numpy==2.4.6'
    """
    try:
        return f"{distribution}=={metadata.version(distribution)}"
    except metadata.PackageNotFoundError:
        return distribution


def check_requirement(line: object) -> str:
    """Return ``line`` stripped if it is a PEP 508 requirement (or a pip option), else raise."""
    if not isinstance(line, str):
        raise InvalidInput(f"pip requirement must be a string, got {type(line).__name__}")
    text = line.strip()
    if not text or "\n" in text or "\x00" in text:
        raise InvalidInput("pip requirement must be one non-empty line")
    if text.startswith("-"):
        if _OPTION_LINE.match(text):
            return text
        raise InvalidInput(
            "pip requirement option is malformed; use e.g. '--extra-index-url URL' or '-r file'"
        )
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        Requirement(text)
    except InvalidRequirement:
        raise InvalidInput(
            "pip requirement is not a valid PEP 508 requirement (e.g. 'scikit-learn>=1.3'); "
            "shell syntax is never accepted"
        ) from None
    return text


def _name(requirement: str) -> str:
    from packaging.requirements import Requirement

    if requirement.startswith("-"):
        return requirement
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def resolve_requirements(
    defaults: Sequence[str],
    pip_requirements: Iterable[str] | None = None,
    extra_pip_requirements: Iterable[str] | None = None,
) -> list[str]:
    """The final requirement list: the user's own list replaces the flavor's defaults;
    extras are added to whichever list is used (an extra overrides a default of the same name).
    """
    if pip_requirements is not None and extra_pip_requirements is not None:
        raise InvalidInput("pass pip_requirements or extra_pip_requirements, not both")
    if isinstance(pip_requirements, str) or isinstance(extra_pip_requirements, str):
        raise InvalidInput("pip requirements must be a list of strings, not one string")
    if pip_requirements is not None:
        return [check_requirement(r) for r in pip_requirements]
    extras = [check_requirement(r) for r in extra_pip_requirements or []]
    extra_names = {_name(r) for r in extras}
    return [r for r in defaults if _name(r) not in extra_names] + extras


def write_environment(model_dir: Path, requirements: Sequence[str]) -> JSONDict:
    """Write the three environment files; return the ``env`` block for ``python_function``."""
    python_version = platform.python_version()
    (model_dir / REQUIREMENTS_FILE).write_text("".join(f"{r}\n" for r in requirements))
    import yaml

    python_env = {
        "python": python_version,
        "build_dependencies": [pinned(tool) for tool in _BUILD_TOOLS],
        "dependencies": [f"-r {REQUIREMENTS_FILE}"],
    }
    conda_env = {
        "name": "modelpack-env",
        "channels": ["conda-forge"],
        "dependencies": [f"python={python_version}", pinned("pip"), {"pip": list(requirements)}],
    }
    (model_dir / PYTHON_ENV_FILE).write_text(yaml.safe_dump(python_env, sort_keys=False))
    (model_dir / CONDA_ENV_FILE).write_text(yaml.safe_dump(conda_env, sort_keys=False))
    return {"virtualenv": PYTHON_ENV_FILE, "conda": CONDA_ENV_FILE}


__all__ = [
    "CONDA_ENV_FILE",
    "PYTHON_ENV_FILE",
    "REQUIREMENTS_FILE",
    "check_requirement",
    "pinned",
    "resolve_requirements",
    "write_environment",
]
