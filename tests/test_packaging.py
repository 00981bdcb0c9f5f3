"""The distribution holds every package in the tree, installed under one name."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOP = {"modelpack": "modelpack", "flavors": "modelpack.flavors", "serving": "modelpack.serving"}


def _packages_in_tree() -> set[str]:
    found = set()
    for folder, name in TOP.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *relative)))
    return found


def test_pyproject_lists_every_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert set(config["packages"]) == _packages_in_tree()


def test_built_wheel_contains_every_module(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("modelpack-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"{TOP[path.relative_to(ROOT).parts[0]].replace('.', '/')}/"
        + "/".join(path.relative_to(ROOT).parts[1:])
        for folder in TOP
        for path in (ROOT / folder).rglob("*.py")
    }
    assert expected <= names, sorted(expected - names)
    assert {"modelpack/py.typed", "modelpack/serving/container/Dockerfile.template"} <= names
    assert not any(name.split("/")[0] in ("flavors", "serving", "tests") for name in names)
