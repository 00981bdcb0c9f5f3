"""Requirement handling: validation at the edge, pins, and how user lists combine."""

from __future__ import annotations

import pytest

from modelpack.environment import check_requirement, pinned, resolve_requirements
from modelpack.errors import InvalidInput


@pytest.mark.parametrize(
    "good", ["numpy", "numpy==2.0", "scikit-learn>=1.3,<2", "pkg[extra]>=1; python_version>'3.8'",
             "--extra-index-url https://example.org/simple", "-r other.txt"],
)  # fmt: skip
def test_valid_requirements_pass_unchanged(good: str) -> None:
    assert check_requirement(f"  {good} ") == good


@pytest.mark.parametrize(
    "bad", ["numpy; rm -rf /", "a | b", "`id`", "$(id)", "x\ny", "", "--opt a;b", 5, None]
)
def test_invalid_requirements_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput, match="requirement"):
        check_requirement(bad)


def test_pinned_uses_the_installed_version() -> None:
    from importlib.metadata import version

    assert pinned("numpy") == f"numpy=={version('numpy')}"
    assert pinned("no-such-distribution-xyz") == "no-such-distribution-xyz"


def test_extras_override_defaults_of_the_same_name() -> None:
    got = resolve_requirements(["numpy==1.0", "scipy==1.0"], extra_pip_requirements=["NumPy>=2"])
    assert got == ["scipy==1.0", "NumPy>=2"]
    assert resolve_requirements(["numpy==1.0"], pip_requirements=["torch"]) == ["torch"]
    with pytest.raises(InvalidInput, match="not both"):
        resolve_requirements([], ["a"], ["b"])
    with pytest.raises(InvalidInput, match="list"):
        resolve_requirements([], "numpy")
