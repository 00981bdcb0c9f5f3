"""Third-party flavor packages a model needs, so that its image can load it.

A model whose ``MLmodel`` names a flavor provided by a plugin distribution (anything
but modelpack registering under the ``modelpack.flavors`` entry-point group) needs that
distribution in the image. One installed from a local source directory (``pip install
-e`` or ``pip install ./dir``, recorded in its ``direct_url.json``) is built into a
wheel that the context carries; one installed from an index is pinned to the
installed version.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from modelpack.errors import EnvironmentBuildError

_IGNORE = shutil.ignore_patterns(
    "__pycache__", "*.pyc", "*.egg-info", ".*", "build", "dist", "*.whl"
)


@dataclass(frozen=True)
class FlavorPackages:
    """What the image needs for the model's plugin flavors: pins and local wheels."""

    requirements: tuple[str, ...]
    wheels: tuple[Path, ...]


def plugin_distributions(mlmodel: Mapping[str, Any]) -> list[metadata.Distribution]:
    """The installed distributions, other than modelpack, that provide the model's flavors."""
    from packaging.utils import canonicalize_name

    from modelpack.plugins import ENTRY_POINT_GROUP

    flavors = mlmodel.get("flavors")
    names = set(flavors) if isinstance(flavors, dict) else set()
    found: dict[str, metadata.Distribution] = {}
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = entry.dist
        if entry.name not in names or dist is None:
            continue
        project = canonicalize_name(dist.metadata["Name"] or "")
        if project and project != "modelpack":
            found.setdefault(project, dist)
    return [found[k] for k in sorted(found)]


def _local_source(dist: metadata.Distribution) -> Path | None:
    try:
        raw = dist.read_text("direct_url.json")
        url = json.loads(raw).get("url", "") if raw else ""
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(url, str) or not url.startswith("file:"):
        return None
    path = Path(unquote(urlparse(url).path))
    return path if (path / "pyproject.toml").is_file() or (path / "setup.py").is_file() else None


def flavor_packages(mlmodel: Mapping[str, Any], wheel_dir: Path) -> FlavorPackages:
    """Build (into ``wheel_dir``) or pin every plugin distribution the model needs.

    >>> flavor_packages({"flavors": {"polyfit": {}}}, Path("ctx/wheels"))  # doctest: +SKIP
    FlavorPackages(requirements=(), wheels=(PosixPath('ctx/wheels/modelpack_polyfit-0.1.0-py3-none-any.whl'),))
    """
    requirements: list[str] = []
    wheels: list[Path] = []
    for dist in plugin_distributions(mlmodel):
        source = _local_source(dist)
        if source is None:
            requirements.append(f"{dist.metadata['Name']}=={dist.version}")
        else:
            wheels.append(_build_wheel(source, wheel_dir, dist.metadata["Name"]))
    return FlavorPackages(tuple(requirements), tuple(wheels))


def _build_wheel(source: Path, wheel_dir: Path, project: str) -> Path:
    """A wheel of ``source``, built from a clean copy (the source tree gains no litter)."""
    wheel_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="modelpack-flavor-") as tmp:
        copy = Path(tmp) / "src"
        shutil.copytree(source, copy, ignore=_IGNORE, symlinks=True)
        out = Path(tmp) / "out"
        argv = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out)]
        done = subprocess.run(
            [*argv, str(copy)], capture_output=True, text=True, timeout=600, check=False
        )
        built = sorted(out.glob("*.whl"))
        if done.returncode != 0 or len(built) != 1:
            last = (done.stderr.strip().splitlines() or ["no wheel produced"])[-1]
            raise EnvironmentBuildError(
                f"building a wheel of the flavor package '{project}' from '{source}' failed: "
                f"{last[:300]}"
            )
        target = wheel_dir / built[0].name
        shutil.move(str(built[0]), target)
    return target


__all__ = ["FlavorPackages", "flavor_packages", "plugin_distributions"]
