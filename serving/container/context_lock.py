"""A lock for a build context: every transitive dependency pinned when the context is made.

The model's requirements name its direct dependencies; what they pull in (numpy under
scikit-learn, say) would otherwise be resolved anew by each ``docker build``, so two
builds of one model version could install different packages. :func:`lock_requirements`
asks pip to resolve the whole set once, without installing anything
(``pip install --dry-run --ignore-installed --report``), for the image's Python and
binary wheels only, and writes every package it would install as ``name==version``.
Locks are cached by a hash of their inputs, so a second context for the same
requirements costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

from modelpack.errors import EnvironmentBuildError

_PIP_TIMEOUT_S = 900


def _wheel_project(wheel: Path) -> str:
    from packaging.utils import canonicalize_name, parse_wheel_filename

    return canonicalize_name(parse_wheel_filename(wheel.name)[0])


def _target_args(python: str) -> list[str]:
    """pip options that resolve for the image (CPython ``python`` on Linux) from here."""
    args: list[str] = []
    if python != f"{sys.version_info.major}.{sys.version_info.minor}":
        args += ["--python-version", python, "--implementation", "cp"]
    if sys.platform != "linux":
        machine = {"arm64": "aarch64", "amd64": "x86_64"}.get(platform.machine().lower())
        machine = machine or platform.machine().lower()
        for tag in ("manylinux_2_28", "manylinux2014", "linux"):
            args += ["--platform", f"{tag}_{machine}"]
    return args


def _wheel_requirements(wheel: Path) -> list[str]:
    """The lines of a wheel's METADATA that decide what it pulls in: a change to its code
    alone (a new modelpack wheel while developing) keeps the cached lock."""
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(names[0]).decode("utf-8", "replace") if len(names) == 1 else ""
    keep = ("Name:", "Version:", "Requires-Dist:", "Requires-Python:")
    return [wheel.name, *(line for line in text.splitlines() if line.startswith(keep))]


def _key(requirements: Sequence[str], wheels: Sequence[Path], target: list[str]) -> str:
    inputs = [list(requirements), target, [_wheel_requirements(w) for w in wheels]]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()[:24]


class _Conflict(EnvironmentBuildError):
    """pip found no set of versions that satisfies every requirement."""


def lock_first(
    candidates: Sequence[Sequence[str]], wheels: Sequence[Path], python: str, cache_dir: Path
) -> list[str]:
    """The lock of the first requirement list that pip can satisfy.

    A build context tries the model's pins plus modelpack's dependencies pinned to what
    runs here first (the versions this machine tested), then the model's pins with
    modelpack's declared ranges (a model saved elsewhere may pin, say, an older pyarrow
    than the one installed here).
    """
    conflict: _Conflict | None = None
    for requirements in candidates:
        try:
            return lock_requirements(requirements, wheels, python, cache_dir)
        except _Conflict as exc:
            conflict = exc
    assert conflict is not None, "lock_first needs at least one candidate"
    raise conflict


def lock_requirements(
    requirements: Sequence[str], wheels: Sequence[Path], python: str, cache_dir: Path
) -> list[str]:
    """Every package that ``requirements`` plus the local ``wheels`` install, pinned.

    The direct requirements come first, in their order; the rest follow by name. The
    local wheels' own projects are left out (the image installs them from the files).

    >>> lock_requirements(["scikit-learn==1.9.1"], [], "3.11", Path("locks"))  # doctest: +SKIP
    ['scikit-learn==1.9.1', 'joblib==1.5.2', 'numpy==2.4.6', 'scipy==1.17.0', ...]
    """
    target = _target_args(python)
    cached = cache_dir / f"{_key(requirements, wheels, target)}.txt"
    if cached.is_file():
        return cached.read_text(encoding="utf-8").split()
    with tempfile.TemporaryDirectory(prefix="modelpack-lock-") as tmp:
        request = Path(tmp) / "requirements.in"
        request.write_text("".join(f"{r}\n" for r in requirements), encoding="utf-8")
        report = Path(tmp) / "report.json"
        argv = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
            "--quiet", "--only-binary=:all:", "--report", str(report), *target,
            "-r", str(request), *map(str, wheels),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=_PIP_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise EnvironmentBuildError(
                f"resolving the requirements lock took over {_PIP_TIMEOUT_S} s; check that "
                "pip's package index is reachable, or pass --no-lock"
            ) from None
        if done.returncode != 0 or not report.is_file():
            lines = [ln for ln in done.stderr.splitlines() if ln.startswith("ERROR")]
            last = (lines or done.stderr.strip().splitlines() or ["pip gave no reason"])[-1]
            if "ResolutionImpossible" in done.stderr:
                conflicts = " ".join(lines[:-1])[:400] or last
                raise _Conflict(
                    f"the model's requirements cannot be installed together ({conflicts}); "
                    "save the model with compatible pins"
                )
            raise EnvironmentBuildError(
                f"cannot lock the model's requirements (pip: {last[:300]}); check that "
                "pip's package index is reachable and has wheels for them, or pass --no-lock"
            )
        installs = json.loads(report.read_text(encoding="utf-8")).get("install", [])
    lines = _pins(requirements, installs, {_wheel_project(w) for w in wheels})
    cache_dir.mkdir(parents=True, exist_ok=True)
    staged = cached.with_name(f".{cached.name}.{uuid.uuid4().hex[:12]}")
    staged.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    staged.replace(cached)
    return lines


def _pins(
    requirements: Sequence[str], installs: list[dict[str, object]], skip: set[str]
) -> list[str]:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pinned: dict[str, str] = {}
    for item in installs:
        meta = item.get("metadata")
        if not isinstance(meta, dict):
            continue
        name = canonicalize_name(str(meta.get("name", "")))
        if name and name not in skip:
            pinned[name] = f"{meta['name']}=={meta['version']}"
    direct = []
    for line in requirements:
        name = canonicalize_name(Requirement(line).name)
        if name in pinned and pinned[name] not in direct:
            direct.append(pinned[name])
    rest = sorted((n, p) for n, p in pinned.items() if p not in direct)
    return direct + [p for _, p in rest]


__all__ = ["lock_first", "lock_requirements"]
