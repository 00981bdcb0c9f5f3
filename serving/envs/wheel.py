"""modelpack as a wheel, built from the checkout this interpreter runs.

Isolated environments and container images install modelpack from this wheel, so they
run exactly the code the user has. The wheel is built from a clean copy of the
project (never in the checkout, which would gain ``build/`` litter) and cached by a
hash of the sources.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from modelpack.errors import EnvironmentBuildError

#: What a wheel build needs from the project root (package dirs per pyproject's package-dir).
_SOURCE_DIRS = ("modelpack", "flavors", "serving")
_SOURCE_FILES = ("pyproject.toml", "README.md", "LICENSE", "Dockerfile.template")
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*")


def project_root() -> Path:
    """The source checkout modelpack is installed from.

    Found from ``modelpack.__file__`` (a checkout has ``pyproject.toml`` beside the
    package) or from the distribution's ``direct_url.json`` (an editable install).
    """
    import modelpack

    candidates = [Path(modelpack.__file__).resolve().parent.parent]
    try:
        direct = metadata.distribution("modelpack").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        direct = None
    if direct:
        url = json.loads(direct).get("url", "")
        if url.startswith("file:"):
            candidates.append(Path(unquote(urlparse(url).path)))
    for root in candidates:
        pyproject = root / "pyproject.toml"
        if pyproject.is_file() and 'name = "modelpack"' in pyproject.read_text("utf-8"):
            return root
    raise EnvironmentBuildError(
        "modelpack is not installed from a source checkout, so it cannot be rebuilt as a "
        "wheel; install it with 'pip install -e <checkout>' to build environments or images"
    )


def source_hash(root: Path) -> str:
    """A hash of every file that goes into the wheel."""
    digest = hashlib.sha256()
    for path in _source_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _source_files(root: Path) -> list[Path]:
    files = [root / name for name in _SOURCE_FILES if (root / name).is_file()]
    for directory in _SOURCE_DIRS:
        for path in sorted((root / directory).rglob("*")):
            parts = path.relative_to(root).parts
            if path.is_file() and not any(
                p == "__pycache__" or p.startswith(".") or p.endswith(".egg-info") for p in parts
            ):
                files.append(path)
    return files


def modelpack_wheel(cache_dir: Path) -> Path:
    """Path of a wheel of the running modelpack, built into ``cache_dir`` if not there yet.

    >>> modelpack_wheel(Path("/tmp/wheels")).name  # doctest: +SKIP
    'modelpack-0.1.0-py3-none-any.whl'
    """
    root = project_root()
    target = cache_dir / source_hash(root)
    found = sorted(target.glob("modelpack-*.whl"))
    if found:
        return found[0]
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".wheel-", dir=target.parent) as tmp:
        source = Path(tmp) / "src"
        source.mkdir()
        for name in _SOURCE_FILES:
            if (root / name).is_file():
                shutil.copy(root / name, source / name)
        for directory in _SOURCE_DIRS:
            shutil.copytree(root / directory, source / directory, ignore=_IGNORE)
        out = Path(tmp) / "out"
        argv = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out)]
        done = subprocess.run(
            [*argv, str(source)], capture_output=True, text=True, timeout=600, check=False
        )
        wheels = sorted(out.glob("modelpack-*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr.strip().splitlines() or ["no wheel produced"])[-1]
            raise EnvironmentBuildError(f"building the modelpack wheel failed: {last[:300]}")
        _check_complete(wheels[0], source)
        staged = Path(tmp) / "staged"
        staged.mkdir()
        shutil.move(str(wheels[0]), staged / wheels[0].name)
        try:
            staged.rename(target)
        except OSError:
            if not target.is_dir():  # a concurrent build that won the rename is just as good
                raise
    return sorted(target.glob("modelpack-*.whl"))[0]


def _check_complete(wheel: Path, source: Path) -> None:
    """Refuse a wheel that lacks a subpackage of the source: it would install but not run."""
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        shipped = {name.rsplit("/", 1)[0] for name in archive.namelist() if name.endswith(".py")}
    missing = []
    for directory in _SOURCE_DIRS:
        prefix = "modelpack" if directory == "modelpack" else f"modelpack/{directory}"
        for init in sorted((source / directory).rglob("__init__.py")):
            relative = init.parent.relative_to(source / directory).as_posix()
            package = prefix if relative == "." else f"{prefix}/{relative}"
            if package not in shipped:
                missing.append(package.replace("/", "."))
    if missing:
        raise EnvironmentBuildError(
            f"the modelpack wheel would lack {', '.join(missing)}: pyproject.toml's "
            "[tool.setuptools] packages must list every subpackage"
        )


__all__ = ["modelpack_wheel", "project_root", "source_hash"]
